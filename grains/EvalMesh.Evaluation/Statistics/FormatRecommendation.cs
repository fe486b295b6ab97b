using System.Globalization;

namespace EvalMesh.Evaluation.Statistics;

/// <summary>One format's results on one model, for choosing a format.</summary>
/// <param name="Format">The format name.</param>
/// <param name="MeanPromptTokens">Mean prompt tokens per cell under the tokenizer that decides cost.</param>
/// <param name="Outcomes">Pass/fail per paired item (test case and repeat), keyed so that formats can be paired.</param>
public sealed record FormatOutcome(string Format, double MeanPromptTokens, IReadOnlyDictionary<string, bool> Outcomes)
{
    /// <summary>Passes over items.</summary>
    public int Passed => Outcomes.Values.Count(v => v);
}

/// <summary>How one format compares with the most accurate one.</summary>
/// <param name="Format">The format.</param>
/// <param name="Accuracy">Its Wilson interval.</param>
/// <param name="MeanPromptTokens">Its mean prompt tokens.</param>
/// <param name="VersusBest">Exact McNemar test against the most accurate format on the items both have.</param>
/// <param name="SignificantlyWorse">Whether it is less accurate than the best at the chosen level.</param>
public sealed record FormatComparison(string Format, WilsonInterval Accuracy, double MeanPromptTokens, McNemarTest VersusBest, bool SignificantlyWorse);

/// <summary>The recommended format and the comparisons behind it.</summary>
/// <param name="Format">The recommended format, or null when there were no formats.</param>
/// <param name="Best">The most accurate format.</param>
/// <param name="Reason">Why, in a sentence.</param>
/// <param name="Comparisons">Every format's comparison with the best, cheapest first.</param>
public sealed record FormatRecommendation(string? Format, string? Best, string Reason, IReadOnlyList<FormatComparison> Comparisons)
{
    /// <summary>
    /// Recommends the format with the fewest prompt tokens among those not significantly less accurate than the most
    /// accurate one (exact McNemar on paired items, two-sided, at <paramref name="alpha"/>). Ties in accuracy go to
    /// fewer tokens; ties in tokens go to the name, so the answer is deterministic.
    /// </summary>
    public static FormatRecommendation Recommend(IReadOnlyList<FormatOutcome> formats, double alpha = 0.05)
    {
        ArgumentNullException.ThrowIfNull(formats);
        if (formats.Count == 0)
        {
            return new FormatRecommendation(null, null, "no formats were evaluated", []);
        }

        static double Accuracy(FormatOutcome f) => f.Outcomes.Count == 0 ? 0 : (double)f.Passed / f.Outcomes.Count;
        var best = formats
            .OrderByDescending(Accuracy)
            .ThenBy(f => f.MeanPromptTokens)
            .ThenBy(f => f.Format, StringComparer.Ordinal)
            .First();
        var comparisons = formats
            .Select(f =>
            {
                var test = McNemarTest.Compute(f.Outcomes
                    .Where(o => best.Outcomes.ContainsKey(o.Key))
                    .Select(o => (best.Outcomes[o.Key], o.Value)));
                var worse = test.PValue < alpha && test.OnlyFirstPassed > test.OnlySecondPassed;
                return new FormatComparison(f.Format, WilsonInterval.Compute(f.Passed, f.Outcomes.Count), f.MeanPromptTokens, test, worse);
            })
            .OrderBy(c => c.MeanPromptTokens)
            .ThenBy(c => c.Format, StringComparer.Ordinal)
            .ToList();
        var pick = comparisons.First(c => !c.SignificantlyWorse);
        var costliest = comparisons[^1];
        var reason = pick.Format != best.Format
            ? string.Create(CultureInfo.InvariantCulture, $"{pick.Format} uses the fewest tokens ({pick.MeanPromptTokens:0} vs {best.MeanPromptTokens:0} for {best.Format}) and is not significantly less accurate than {best.Format} (McNemar p = {pick.VersusBest.PValue:0.###})")
            : formats.Count(f => Accuracy(f) == Accuracy(best)) > 1
                ? string.Create(CultureInfo.InvariantCulture, $"{pick.Format} ties for the highest accuracy ({Accuracy(best):0.0%}) and uses the fewest tokens ({pick.MeanPromptTokens:0}, against {costliest.MeanPromptTokens:0} for {costliest.Format})")
                : string.Create(CultureInfo.InvariantCulture, $"{pick.Format} is the most accurate format, and no format with fewer tokens is statistically as accurate ({pick.MeanPromptTokens:0} tokens)");
        return new FormatRecommendation(pick.Format, best.Format, reason, comparisons);
    }
}
