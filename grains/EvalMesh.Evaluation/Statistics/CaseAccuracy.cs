using EvalMesh.Contracts;

namespace EvalMesh.Evaluation.Statistics;

/// <summary>One test case's scored repeats: its passes among the repeats that gave an answer (errors left out).</summary>
/// <param name="Passed">Repeats that passed.</param>
/// <param name="Trials">Repeats that passed or failed.</param>
public readonly record struct CaseTally(int Passed, int Trials)
{
    /// <summary>The case's pass rate across its repeats, or 0 when it has none.</summary>
    public double Rate => Trials == 0 ? 0 : (double)Passed / Trials;

    /// <summary>Whether its repeats disagree: some passed and some failed.</summary>
    public bool Unstable => Passed > 0 && Passed < Trials;

    /// <summary>This tally with one more repeat.</summary>
    public CaseTally Add(bool passed) => new(Passed + (passed ? 1 : 0), Trials + 1);
}

/// <summary>
/// Accuracy with the case as the unit: the mean over cases of each case's pass rate across its repeats, and its
/// interval. Repeats of a case are not independent trials (at temperature 0 they are the same answer), so they never
/// multiply the sample size: only the cases' spread decides how much the repeats add.
/// </summary>
/// <param name="Cases">Cases with at least one scored repeat.</param>
/// <param name="Accuracy">The mean of the cases' pass rates.</param>
/// <param name="Lower">Lower bound of the interval.</param>
/// <param name="Upper">Upper bound of the interval.</param>
/// <param name="EffectiveCases">
/// The number of independent pass/fail trials the data is worth: the cases for one repeat; with repeats,
/// accuracy·(1 − accuracy) over the clustered variance of the mean, between about the cases and the scored repeats.
/// </param>
/// <param name="Method">Wilson (one repeat) or clustered.</param>
/// <param name="CasesWithRepeats">Cases with two or more scored repeats.</param>
/// <param name="UnstableCases">Of those, the cases whose repeats disagree.</param>
public sealed record CaseAccuracy(int Cases, double Accuracy, double Lower, double Upper, double EffectiveCases, IntervalMethod Method, int CasesWithRepeats, int UnstableCases)
{
    /// <summary>The share of cases with repeats whose repeats disagree, or null when no case has two scored repeats.</summary>
    public double? UnstableShare => CasesWithRepeats == 0 ? null : (double)UnstableCases / CasesWithRepeats;

    /// <summary>
    /// The accuracy of <paramref name="cases"/> with its two-sided <paramref name="confidence"/> interval. Cases
    /// without a scored repeat (only errors) are left out; the caller counts them.
    /// </summary>
    public static CaseAccuracy Compute(IEnumerable<CaseTally> cases, double confidence = 0.95)
    {
        ArgumentNullException.ThrowIfNull(cases);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(confidence, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(confidence, 1);
        var scored = cases.Where(c => c.Trials > 0).ToList();
        var n = scored.Count;
        var withRepeats = scored.Count(c => c.Trials > 1);
        var unstable = scored.Count(c => c.Trials > 1 && c.Unstable);
        if (n == 0)
        {
            return new CaseAccuracy(0, 0, 0, 1, 0, IntervalMethod.Wilson, 0, 0);
        }

        var mean = scored.Average(c => c.Rate);
        var z = Distributions.NormalQuantile(1 - (1 - confidence) / 2);
        if (withRepeats == 0 || mean <= 0 || mean >= 1 || n < 2)
        {
            // One repeat; or every case at 0% (or at 100%), where the spread says nothing about what the repeats add, so
            // they are taken to add nothing: the cases are the sample.
            var (lower, upper) = WilsonInterval.Bounds(mean, n, z);
            return new CaseAccuracy(n, mean, lower, upper, n, IntervalMethod.Wilson, withRepeats, unstable);
        }

        // Why not mean ± t·SE: with every case at the same rate the clustered SE is 0 and the interval a point, and
        // with few cases near 0 or 100% it covers far less than it says (the statistics benchmark shows it). Wilson's
        // interval on the effective sample size keeps what the clustered SE knows (how much the repeats add) and
        // behaves at the boundaries; Student's t for n − 1 degrees of freedom pays for estimating that variance from n
        // cases (Korn and Graubard 1998).
        var effective = EffectiveSize(mean, [.. scored.Select(c => c.Rate)], scored.Sum(c => c.Trials));
        var critical = Distributions.StudentTQuantile(1 - (1 - confidence) / 2, n - 1);
        var (low, high) = WilsonInterval.Bounds(mean, effective, critical);
        return new CaseAccuracy(n, mean, low, high, effective, IntervalMethod.Clustered, withRepeats, unstable);
    }

    // p(1 − p) / (s²/n): the Bernoulli trials that would give the clustered variance of the mean, truncated at the
    // trials there were (Korn and Graubard's truncation).
    private static double EffectiveSize(double mean, IReadOnlyList<double> rates, int trials)
    {
        var n = rates.Count;
        var variance = rates.Sum(r => (r - mean) * (r - mean)) / (n - 1);
        return variance <= 0 ? trials : Math.Clamp(mean * (1 - mean) * n / variance, 1, trials);
    }
}
