using EvalMesh.Abstractions;
using EvalMesh.Evaluation.Statistics;

namespace EvalMesh.Client;

/// <summary>What a comparison found for one suite, endpoint and format.</summary>
public enum ComparisonVerdict
{
    /// <summary>No significant difference on the paired cells.</summary>
    Same,

    /// <summary>The candidate passes significantly more of the paired cells.</summary>
    Improved,

    /// <summary>The candidate passes significantly fewer of the paired cells.</summary>
    Regressed,

    /// <summary>No cell of this suite, endpoint and format was scored in both runs.</summary>
    NotComparable,
}

/// <summary>
/// One suite, endpoint and format of two runs compared cell by cell: the same case and repeat scored in both (errors
/// left out), their accuracy on those cells, and the exact McNemar test on the cells only one run passed.
/// </summary>
/// <param name="Suite">The suite.</param>
/// <param name="Endpoint">The endpoint.</param>
/// <param name="Format">The format.</param>
/// <param name="Paired">Cells scored in both runs.</param>
/// <param name="BaselineAccuracy">The baseline's accuracy on the paired cells.</param>
/// <param name="CandidateAccuracy">The candidate's accuracy on the paired cells.</param>
/// <param name="OnlyBaselinePassed">Paired cells only the baseline passed.</param>
/// <param name="OnlyCandidatePassed">Paired cells only the candidate passed.</param>
/// <param name="PValue">The exact McNemar test's two-sided p-value.</param>
/// <param name="Verdict">Same, improved or regressed at the comparison's significance level.</param>
public sealed record ComparisonRow(
    string Suite,
    string Endpoint,
    string Format,
    int Paired,
    double BaselineAccuracy,
    double CandidateAccuracy,
    int OnlyBaselinePassed,
    int OnlyCandidatePassed,
    double PValue,
    ComparisonVerdict Verdict);

/// <summary>
/// Compares two runs of the same matrix (a model, adapter, prompt or format change against yesterday's run), the way a
/// CI job gates a change: a regression is a significant drop on the very cells both runs scored, not a difference of
/// headline accuracies that could be noise.
/// </summary>
public static class RunComparison
{
    /// <summary>Compares <paramref name="candidate"/> with <paramref name="baseline"/>, one row per suite, endpoint and format of either.</summary>
    /// <param name="client">Where the runs are.</param>
    /// <param name="baseline">The run compared against.</param>
    /// <param name="candidate">The run under test.</param>
    /// <param name="alpha">The significance level of the McNemar test.</param>
    /// <param name="cancellationToken">Cancels the comparison.</param>
    /// <exception cref="RunNotFoundException">Either run does not exist.</exception>
    public static async Task<IReadOnlyList<ComparisonRow>> CompareAsync(IEvalMeshClient client, string baseline, string candidate, double alpha = 0.05, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(alpha);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(alpha, 1);
        await client.GetRunAsync(baseline, cancellationToken).ConfigureAwait(false);
        await client.GetRunAsync(candidate, cancellationToken).ConfigureAwait(false);

        var groups = new SortedDictionary<(string Suite, string Endpoint, string Format), Counts>();
        Counts GroupOf(CellResult cell) =>
            groups.TryGetValue((cell.Suite, cell.Endpoint, cell.Format), out var counts) ? counts : groups[(cell.Suite, cell.Endpoint, cell.Format)] = new Counts();

        var before = new Dictionary<(string Suite, string Endpoint, string Format, string CaseId, int Repeat), bool>();
        await foreach (var cell in client.GetResultsAsync(baseline, cancellationToken).ConfigureAwait(false))
        {
            GroupOf(cell);
            if (cell.Outcome != CellOutcome.Error)
            {
                before[(cell.Suite, cell.Endpoint, cell.Format, cell.CaseId, cell.Repeat)] = cell.Outcome == CellOutcome.Passed;
            }
        }

        await foreach (var cell in client.GetResultsAsync(candidate, cancellationToken).ConfigureAwait(false))
        {
            var counts = GroupOf(cell);
            if (cell.Outcome != CellOutcome.Error && before.TryGetValue((cell.Suite, cell.Endpoint, cell.Format, cell.CaseId, cell.Repeat), out var was))
            {
                counts.Add(was, cell.Outcome == CellOutcome.Passed);
            }
        }

        return [.. groups.Select(g => g.Value.Row(g.Key.Suite, g.Key.Endpoint, g.Key.Format, alpha))];
    }

    private sealed class Counts
    {
        private int _paired;
        private int _baselinePassed;
        private int _candidatePassed;
        private int _onlyBaseline;
        private int _onlyCandidate;

        public void Add(bool baseline, bool candidate)
        {
            _paired++;
            _baselinePassed += baseline ? 1 : 0;
            _candidatePassed += candidate ? 1 : 0;
            _onlyBaseline += baseline && !candidate ? 1 : 0;
            _onlyCandidate += candidate && !baseline ? 1 : 0;
        }

        public ComparisonRow Row(string suite, string endpoint, string format, double alpha)
        {
            var test = McNemarTest.FromCounts(_onlyBaseline, _onlyCandidate);
            var verdict = _paired == 0 ? ComparisonVerdict.NotComparable
                : test.PValue >= alpha ? ComparisonVerdict.Same
                : _onlyCandidate > _onlyBaseline ? ComparisonVerdict.Improved
                : ComparisonVerdict.Regressed;
            return new ComparisonRow(
                suite,
                endpoint,
                format,
                _paired,
                _paired == 0 ? 0 : (double)_baselinePassed / _paired,
                _paired == 0 ? 0 : (double)_candidatePassed / _paired,
                _onlyBaseline,
                _onlyCandidate,
                test.PValue,
                verdict);
        }
    }
}
