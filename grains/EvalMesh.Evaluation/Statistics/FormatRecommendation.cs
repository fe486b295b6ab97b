using System.Globalization;
using EvalMesh.Contracts;

namespace EvalMesh.Evaluation.Statistics;

/// <summary>One format's results on one model, for choosing a format.</summary>
/// <param name="Format">The format name.</param>
/// <param name="MeanPromptTokens">Mean prompt tokens per cell under the tokenizer that decides cost.</param>
/// <param name="Cases">Pass/fail counts per test case id (its repeats), so that formats can be paired by case.</param>
public sealed record FormatOutcome(string Format, double MeanPromptTokens, IReadOnlyDictionary<string, CaseTally> Cases);

/// <summary>How one format compares with the most accurate one.</summary>
/// <param name="Format">The format.</param>
/// <param name="Accuracy">Its accuracy over cases, with its interval.</param>
/// <param name="MeanPromptTokens">Its mean prompt tokens.</param>
/// <param name="VersusBest">Its paired difference from the most accurate format (this minus the best); null for the best itself.</param>
/// <param name="PValue">The p-value behind its standing (Holm-adjusted for the cheaper formats' non-inferiority), if it was tested.</param>
/// <param name="Standing">Where it stands.</param>
public sealed record FormatComparison(string Format, CaseAccuracy Accuracy, double MeanPromptTokens, PairedDifference? VersusBest, double? PValue, FormatStanding Standing);

/// <summary>The recommended format, or "inconclusive", and the comparisons behind it.</summary>
/// <param name="Format">The recommended format, or null when the data does not decide.</param>
/// <param name="Best">The most accurate format.</param>
/// <param name="Verdict">What the answer rests on.</param>
/// <param name="Reason">Why, in a sentence.</param>
/// <param name="CasesNeeded">When inconclusive: about how many cases would decide at the observed accuracies, the margin and 80% power; null when more cases would not (every format at 0%).</param>
/// <param name="Comparisons">Every format's comparison with the best, cheapest first.</param>
public sealed record FormatRecommendation(string? Format, string? Best, RecommendationVerdict Verdict, string Reason, int? CasesNeeded, IReadOnlyList<FormatComparison> Comparisons)
{
    /// <summary>The power at which <see cref="CasesNeeded"/> is planned.</summary>
    public const double PlanningPower = 0.8;

    /// <summary>
    /// Recommends the cheapest format (fewest prompt tokens) shown non-inferior to the most accurate one: the lower
    /// one-sided (1 − alpha) bound of its paired difference above −margin, Holm-corrected over the cheaper formats.
    /// When none is, the most accurate format is recommended only if every cheaper one is shown worse by more than the
    /// margin; when the most accurate format is also the cheapest, only if it is shown within the margin of every
    /// other format (each an intersection–union test, so at alpha without correction; Berger 1982). Anything else is
    /// inconclusive, and so is every format at 0%: nothing is chosen on no evidence.
    /// </summary>
    public static FormatRecommendation Recommend(IReadOnlyList<FormatOutcome> formats, RecommendSettings? settings = null)
    {
        ArgumentNullException.ThrowIfNull(formats);
        settings ??= RecommendSettings.Default;
        var (margin, alpha) = (settings.Margin, settings.Alpha);
        if (formats.Count == 0)
        {
            return new FormatRecommendation(null, null, RecommendationVerdict.Inconclusive, "No formats were evaluated", null, []);
        }

        var accuracy = formats.ToDictionary(f => f.Format, f => CaseAccuracy.Compute(f.Cases.Values), StringComparer.Ordinal);
        var best = formats
            .OrderByDescending(f => accuracy[f.Format].Accuracy)
            .ThenBy(f => f.MeanPromptTokens)
            .ThenBy(f => f.Format, StringComparer.Ordinal)
            .First();
        var ordered = formats.OrderBy(f => f.MeanPromptTokens).ThenBy(f => f.Format, StringComparer.Ordinal).ToList();
        var versus = formats.Where(f => f != best).ToDictionary(f => f.Format, f => Pair(f, best), StringComparer.Ordinal);
        var cheaper = ordered.Where(f => f.MeanPromptTokens < best.MeanPromptTokens).ToList();
        var pValues = new Dictionary<string, double>(StringComparer.Ordinal);
        var standings = formats.ToDictionary(f => f.Format, f => f == best ? FormatStanding.Best : cheaper.Contains(f) ? FormatStanding.Undecided : FormatStanding.NotCheaper, StringComparer.Ordinal);
        FormatRecommendation Answer(string? format, RecommendationVerdict verdict, string reason, int? needed = null) =>
            new(format, best.Format, verdict, reason, needed, [.. ordered.Select(f => new FormatComparison(f.Format, accuracy[f.Format], f.MeanPromptTokens, versus.GetValueOrDefault(f.Format), pValues.TryGetValue(f.Format, out var p) ? p : null, standings[f.Format]))]);

        var top = accuracy[best.Format];
        if (top.Accuracy <= 0)
        {
            return Answer(null, RecommendationVerdict.Inconclusive, Text($"No format passed any case ({top.Cases} cases), so there is nothing to choose between; more cases of this model will not decide it"));
        }

        if (formats.Count == 1)
        {
            return Answer(best.Format, RecommendationVerdict.OnlyFormat, Text($"{best.Format} is the only format evaluated ({Percent(top.Accuracy)}), so there was no choice to make"));
        }

        var marginText = Points(margin);
        if (cheaper.Count > 0)
        {
            var adjusted = Holm(cheaper.Select(f => versus[f.Format].PValueAbove(-margin)).ToList());
            for (var i = 0; i < cheaper.Count; i++)
            {
                pValues[cheaper[i].Format] = adjusted[i];
                standings[cheaper[i].Format] = adjusted[i] <= alpha ? FormatStanding.NonInferior : FormatStanding.Undecided;
            }

            if (cheaper.FirstOrDefault(f => standings[f.Format] == FormatStanding.NonInferior) is { } pick)
            {
                var d = versus[pick.Format];
                return Answer(pick.Format, RecommendationVerdict.NonInferior, Text($"{pick.Format} uses the fewest tokens ({pick.MeanPromptTokens:0} vs {best.MeanPromptTokens:0} for {best.Format}) of the formats shown at most {marginText} less accurate than {best.Format}: {Percent(d.FirstAccuracy)} vs {Percent(d.SecondAccuracy)} on {d.Cases} cases, difference {Signed(d.Difference)} points (95% CI {Signed(d.Lower)} to {Signed(d.Upper)}), non-inferiority p = {pValues[pick.Format]:0.####} (Holm over {cheaper.Count})"));
            }

            var below = cheaper.Select(f => versus[f.Format].PValueBelow(-margin)).ToList();
            if (below.All(p => p <= alpha))
            {
                for (var i = 0; i < cheaper.Count; i++)
                {
                    pValues[cheaper[i].Format] = below[i];
                    standings[cheaper[i].Format] = FormatStanding.Inferior;
                }

                return Answer(best.Format, RecommendationVerdict.CheaperFormatsWorse, Text($"{best.Format} is the most accurate ({Percent(top.Accuracy)}), and every cheaper format is shown more than {marginText} less accurate (largest p = {below.Max():0.####})"));
            }

            var candidate = cheaper.FirstOrDefault(f => versus[f.Format].Difference > -margin);
            var needed = candidate is not null
                ? versus[candidate.Format].CasesNeeded(-margin, alpha / cheaper.Count, PlanningPower)
                : Largest(cheaper.Select(f => versus[f.Format].CasesNeeded(-margin, alpha, PlanningPower)));
            var goal = candidate is not null ? $"show {candidate.Format} within {marginText} of {best.Format}" : $"show every cheaper format more than {marginText} less accurate than {best.Format}";
            return Answer(null, RecommendationVerdict.Inconclusive, Text($"No format cheaper than {best.Format} ({Percent(top.Accuracy)} on {top.Cases} cases) is shown within {marginText} of it or more than {marginText} worse; {Needed(needed, goal)}"), needed);
        }

        // The most accurate format is the cheapest: it is the answer only if it is shown within the margin of every
        // other format, any of which might truly be the most accurate.
        var within = versus.ToDictionary(v => v.Key, v => v.Value.PValueBelow(margin), StringComparer.Ordinal);
        foreach (var (format, p) in within)
        {
            pValues[format] = p;
        }

        if (within.Values.All(p => p <= alpha))
        {
            return Answer(best.Format, RecommendationVerdict.BestIsCheapest, Text($"{best.Format} is the most accurate ({Percent(top.Accuracy)} on {top.Cases} cases) and the cheapest ({best.MeanPromptTokens:0} tokens), and it is shown at most {marginText} less accurate than every other format (largest p = {within.Values.Max():0.####})"));
        }

        var cases = Largest(versus.Values.Select(v => v.CasesNeeded(margin, alpha, PlanningPower)));
        return Answer(null, RecommendationVerdict.Inconclusive, Text($"{best.Format} is the most accurate ({Percent(top.Accuracy)} on {top.Cases} cases) and the cheapest, but it is not shown within {marginText} of every other format; {Needed(cases, $"show {best.Format} within {marginText} of every other format")}"), cases);
    }

    /// <summary>Holm's step-down adjustment (Holm 1979) of <paramref name="pValues"/>, in their order.</summary>
    public static IReadOnlyList<double> Holm(IReadOnlyList<double> pValues)
    {
        ArgumentNullException.ThrowIfNull(pValues);
        var m = pValues.Count;
        var adjusted = new double[m];
        var running = 0.0;
        var rank = 0;
        foreach (var (p, index) in pValues.Select((p, i) => (p, i)).OrderBy(x => x.p))
        {
            running = Math.Max(running, Math.Min(1, (m - rank) * p));
            adjusted[index] = running;
            rank++;
        }

        return adjusted;
    }

    // This format's cases paired with the best's: (this, best).
    private static PairedDifference Pair(FormatOutcome format, FormatOutcome best) =>
        PairedDifference.Compute(format.Cases.Where(c => best.Cases.ContainsKey(c.Key)).Select(c => (c.Value, best.Cases[c.Key])));

    private static int? Largest(IEnumerable<int?> counts)
    {
        var list = counts.ToList();
        return list.Any(c => c is null) ? null : list.Max();
    }

    private static string Needed(int? cases, string goal) => cases is { } n
        ? Text($"about {n:N0} cases would {goal} with 80% power if the observed accuracies held")
        : "the observed difference is exactly the margin, so no number of cases would decide it";

    private static string Text(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static string Percent(double value) => value.ToString("0.0%", CultureInfo.InvariantCulture);

    private static string Points(double value) => (value * 100).ToString("0.##", CultureInfo.InvariantCulture) + " points";

    private static string Signed(double value) => (value * 100).ToString("+0.0;-0.0;0.0", CultureInfo.InvariantCulture);
}
