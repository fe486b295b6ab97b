using EvalMesh.Contracts;
using EvalMesh.Abstractions;
using EvalMesh.Evaluation.Statistics;

namespace EvalMesh.Client;

/// <summary>What a comparison found for one suite, endpoint and format.</summary>
public enum ComparisonVerdict
{
    /// <summary>No significant difference on the paired cases.</summary>
    Same,

    /// <summary>The candidate is significantly more accurate on the paired cases.</summary>
    Improved,

    /// <summary>The candidate is significantly less accurate on the paired cases.</summary>
    Regressed,

    /// <summary>No case of this suite, endpoint and format was scored in both runs.</summary>
    NotComparable,
}

/// <summary>
/// One suite, endpoint and format of two runs compared case by case, as the report compares formats: each case's pass
/// rate across its repeats (errors left out) in each run, the mean per-case difference with its interval, and the
/// two-sided score test of no difference (<see cref="PairedDifference"/>; with one repeat, McNemar's statistic).
/// </summary>
/// <param name="Suite">The suite.</param>
/// <param name="Endpoint">The endpoint.</param>
/// <param name="Format">The format.</param>
/// <param name="Paired">Cases scored in both runs.</param>
/// <param name="BaselineAccuracy">The baseline's accuracy on the paired cases.</param>
/// <param name="CandidateAccuracy">The candidate's accuracy on the paired cases.</param>
/// <param name="BaselineBetter">Paired cases where the baseline's pass rate is higher (with one repeat: only the baseline passed).</param>
/// <param name="CandidateBetter">Paired cases where the candidate's pass rate is higher.</param>
/// <param name="Difference">The candidate's accuracy minus the baseline's.</param>
/// <param name="DifferenceLower">Lower bound of the difference's (1 − alpha) interval.</param>
/// <param name="DifferenceUpper">Upper bound of the difference's (1 − alpha) interval.</param>
/// <param name="PValue">The two-sided p-value of no difference.</param>
/// <param name="Verdict">Same, improved or regressed at the comparison's significance level (the interval excludes 0 exactly when p &lt; alpha).</param>
public sealed record ComparisonRow(
    string Suite,
    string Endpoint,
    string Format,
    int Paired,
    double BaselineAccuracy,
    double CandidateAccuracy,
    int BaselineBetter,
    int CandidateBetter,
    double Difference,
    double DifferenceLower,
    double DifferenceUpper,
    double PValue,
    ComparisonVerdict Verdict);

/// <summary>
/// Compares two runs of the same matrix (a model, adapter, prompt or format change against yesterday's run), the way a
/// CI job gates a change: a regression is a significant drop on the very cases both runs scored, not a difference of
/// headline accuracies that could be noise.
/// </summary>
public static class RunComparison
{
    /// <summary>Compares <paramref name="candidate"/> with <paramref name="baseline"/>, one row per suite, endpoint and format of either.</summary>
    /// <param name="client">Where the runs are.</param>
    /// <param name="baseline">The run compared against.</param>
    /// <param name="candidate">The run under test.</param>
    /// <param name="alpha">The two-sided significance level of the test, and 1 − the interval's confidence.</param>
    /// <param name="cancellationToken">Cancels the comparison.</param>
    /// <exception cref="RunNotFoundException">Either run does not exist.</exception>
    public static async Task<IReadOnlyList<ComparisonRow>> CompareAsync(IEvalMeshClient client, string baseline, string candidate, double alpha = 0.05, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        await client.GetRunAsync(baseline, cancellationToken).ConfigureAwait(false);
        await client.GetRunAsync(candidate, cancellationToken).ConfigureAwait(false);
        return await CompareAsync(client.GetResultsAsync(baseline, cancellationToken), client.GetResultsAsync(candidate, cancellationToken), alpha, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Compares two sets of cells, one row per suite, endpoint and format of either: the cells of two runs, or of one
    /// run's two endpoints with the candidate's cells named as the baseline's endpoint (as <c>evalmesh finetune</c> compares
    /// an endpoint with its new adapter on the held-out cases).
    /// </summary>
    public static async Task<IReadOnlyList<ComparisonRow>> CompareAsync(IAsyncEnumerable<CellResult> baseline, IAsyncEnumerable<CellResult> candidate, double alpha = 0.05, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(baseline);
        ArgumentNullException.ThrowIfNull(candidate);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(alpha);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(alpha, 1);

        // Passes and scored repeats per case in each set; a group exists once either set has a cell of it.
        var groups = new SortedDictionary<(string Suite, string Endpoint, string Format), (Dictionary<string, CaseTally> Baseline, Dictionary<string, CaseTally> Candidate)>();
        async Task ReadAsync(IAsyncEnumerable<CellResult> cells, bool isBaseline)
        {
            await foreach (var cell in cells.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                var key = (cell.Suite, cell.Endpoint, cell.Format);
                if (!groups.TryGetValue(key, out var group))
                {
                    groups[key] = group = (new(StringComparer.Ordinal), new(StringComparer.Ordinal));
                }

                if (cell.Outcome != CellOutcome.Error)
                {
                    var cases = isBaseline ? group.Baseline : group.Candidate;
                    cases[cell.CaseId] = cases.GetValueOrDefault(cell.CaseId).Add(cell.Outcome == CellOutcome.Passed);
                }
            }
        }

        await ReadAsync(baseline, isBaseline: true).ConfigureAwait(false);
        await ReadAsync(candidate, isBaseline: false).ConfigureAwait(false);
        return [.. groups.Select(g => Row(g.Key.Suite, g.Key.Endpoint, g.Key.Format, g.Value.Baseline, g.Value.Candidate, alpha))];
    }

    private static ComparisonRow Row(string suite, string endpoint, string format, Dictionary<string, CaseTally> baseline, Dictionary<string, CaseTally> candidate, double alpha)
    {
        var d = PairedDifference.Compute(candidate.Where(c => baseline.ContainsKey(c.Key)).Select(c => (c.Value, baseline[c.Key])), 1 - alpha);
        var p = d.PValueTwoSided();
        var verdict = d.Cases == 0 ? ComparisonVerdict.NotComparable
            : p >= alpha ? ComparisonVerdict.Same
            : d.Difference > 0 ? ComparisonVerdict.Improved
            : ComparisonVerdict.Regressed;
        return new ComparisonRow(suite, endpoint, format, d.Cases, d.SecondAccuracy, d.FirstAccuracy, d.SecondBetter, d.FirstBetter, d.Difference, d.Lower, d.Upper, p, verdict);
    }
}
