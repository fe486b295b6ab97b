using EvalMesh.Contracts;

namespace EvalMesh.Evaluation.Statistics;

/// <summary>
/// The difference in accuracy between two conditions (formats, or two runs) on the same cases, paired by case: the
/// mean over cases of each case's pass rate under the first minus its pass rate under the second.
/// </summary>
/// <remarks>
/// <para>
/// The interval and the tests are Tango's score method for paired proportions (Tango 1998), with the case as the pair.
/// With one repeat that is Tango's interval exactly: its variance comes from the null hypothesis, so two conditions
/// that never disagree on 20 cases still get an interval about ±16% wide, not a point.
/// </para>
/// <para>
/// With repeats, each case's difference is a fraction. The clustered variance of the mean difference (the cases'
/// spread, n − 1) sets an effective number of cases, the paired pass/fail trials it is worth, and Tango's statistic
/// is taken on that many with Student's t for n − 1 degrees of freedom (as <see cref="CaseAccuracy"/> does for one
/// condition, after Korn and Graubard 1998). A plain mean ± t·SE would be a point whenever the cases agree, and
/// would then declare any margin met on no evidence.
/// </para>
/// </remarks>
/// <param name="Cases">Cases scored under both conditions.</param>
/// <param name="FirstAccuracy">The first condition's accuracy on those cases.</param>
/// <param name="SecondAccuracy">The second condition's accuracy on those cases.</param>
/// <param name="Difference">The mean per-case difference, first minus second.</param>
/// <param name="Lower">Lower bound of the interval of the difference.</param>
/// <param name="Upper">Upper bound of the interval of the difference.</param>
/// <param name="FirstBetter">Cases where the first condition's pass rate is higher.</param>
/// <param name="SecondBetter">Cases where the second condition's pass rate is higher.</param>
/// <param name="FirstAhead">The sum of the per-case differences where the first is ahead (McNemar's b with one repeat).</param>
/// <param name="SecondAhead">The sum of the per-case differences where the second is ahead, as a positive number (McNemar's c).</param>
/// <param name="EffectiveCases">The paired pass/fail trials the data is worth (the cases, for one repeat).</param>
/// <param name="Method">Wilson (one repeat: Tango's interval) or clustered.</param>
public sealed record PairedDifference(
    int Cases,
    double FirstAccuracy,
    double SecondAccuracy,
    double Difference,
    double Lower,
    double Upper,
    int FirstBetter,
    int SecondBetter,
    double FirstAhead,
    double SecondAhead,
    double EffectiveCases,
    IntervalMethod Method)
{
    /// <summary>The difference of <paramref name="pairs"/> (cases with a scored repeat under each condition; others are left out).</summary>
    public static PairedDifference Compute(IEnumerable<(CaseTally First, CaseTally Second)> pairs, double confidence = 0.95)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(confidence, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(confidence, 1);
        var scored = pairs.Where(p => p.First.Trials > 0 && p.Second.Trials > 0).ToList();
        var n = scored.Count;
        if (n == 0)
        {
            return new PairedDifference(0, 0, 0, 0, -1, 1, 0, 0, 0, 0, 0, IntervalMethod.Wilson);
        }

        var differences = scored.Select(p => p.First.Rate - p.Second.Rate).ToList();
        var mean = differences.Average();
        var ahead = differences.Where(d => d > 0).Sum();
        var behind = -differences.Where(d => d < 0).Sum();
        // With repeats, the spread of the per-case differences tells how much they add, except where the cases never
        // disagree (or n < 2): then they are taken to add nothing, and the cases are the sample.
        var repeats = scored.Any(p => p.First.Trials > 1 || p.Second.Trials > 1);
        var effective = repeats ? EffectiveSize(differences, mean, ahead + behind, scored.Sum(p => Math.Min(p.First.Trials, p.Second.Trials))) : null;
        var clustered = effective is not null;
        var partial = new PairedDifference(
            n,
            scored.Average(p => p.First.Rate),
            scored.Average(p => p.Second.Rate),
            mean,
            0,
            0,
            differences.Count(d => d > 0),
            differences.Count(d => d < 0),
            ahead,
            behind,
            effective ?? n,
            clustered ? IntervalMethod.Clustered : IntervalMethod.Wilson);
        var critical = partial.Quantile(1 - (1 - confidence) / 2);
        return partial with { Lower = partial.Bound(critical, lower: true), Upper = partial.Bound(critical, lower: false) };
    }

    /// <summary>One-sided p-value of the hypothesis that the difference is at most <paramref name="delta"/>, against its being above it.</summary>
    public double PValueAbove(double delta) => Cases == 0 ? 1 : 1 - Cdf(Score(delta));

    /// <summary>One-sided p-value of the hypothesis that the difference is at least <paramref name="delta"/>, against its being below it.</summary>
    public double PValueBelow(double delta) => Cases == 0 ? 1 : Cdf(Score(delta));

    /// <summary>Two-sided p-value of the hypothesis that the difference is <paramref name="delta"/> (0: no difference).</summary>
    public double PValueTwoSided(double delta = 0) => Math.Min(1, 2 * Math.Min(PValueAbove(delta), PValueBelow(delta)));

    /// <summary>
    /// About how many cases would show, with probability <paramref name="power"/> at the one-sided level
    /// <paramref name="alpha"/>, that the difference is above <paramref name="delta"/> (when the observed one is) or
    /// below it (when the observed one is), if the observed accuracies and disagreement were the truth: the sample size
    /// of Tango's test (Nam 1997; Liu et al. 2002), scaled by the repeats' design effect. Null when the observed
    /// difference is exactly <paramref name="delta"/> or there is nothing observed, so no number of cases would do.
    /// </summary>
    public int? CasesNeeded(double delta, double alpha, double power = 0.8)
    {
        var gap = Math.Abs(Difference - delta);
        if (Cases == 0 || gap < 1e-12)
        {
            return null;
        }

        var atNull = Math.Sqrt(Math.Max(0, NullVariance(delta)));
        var atObserved = Math.Sqrt(Math.Max(0, (FirstAhead + SecondAhead) / Cases - Difference * Difference));
        var trials = Math.Pow(Distributions.NormalQuantile(1 - alpha) * atNull + Distributions.NormalQuantile(power) * atObserved, 2) / (gap * gap);
        return (int)Math.Min(int.MaxValue, Math.Ceiling(trials * Cases / EffectiveCases));
    }

    // Tango's score statistic for H0: difference = delta, on the effective number of cases.
    private double Score(double delta)
    {
        var numerator = (FirstAhead - SecondAhead) / Cases - delta;
        var variance = NullVariance(delta);
        if (variance <= 1e-15)
        {
            return Math.Abs(numerator) < 1e-12 ? 0 : Math.CopySign(double.PositiveInfinity, numerator);
        }

        return numerator * Math.Sqrt(EffectiveCases / variance);
    }

    // The variance of one paired trial's difference under H0, at the restricted maximum-likelihood estimate of the
    // share of pairs where only the second passes (Tango 1998, eq. 5), from the observed shares b/n and c/n.
    private double NullVariance(double delta)
    {
        var b = FirstAhead / Cases;
        var c = SecondAhead / Cases;
        var bb = -b - c + (2 - b + c) * delta;
        var cc = -c * delta * (1 - delta);
        var onlySecond = (Math.Sqrt(Math.Max(0, bb * bb - 8 * cc)) - bb) / 4;
        return 2 * onlySecond + delta * (1 - delta);
    }

    private double Cdf(double x) => Method == IntervalMethod.Wilson ? Distributions.NormalCdf(x) : Distributions.StudentTCdf(x, Math.Max(1, Cases - 1));

    private double Quantile(double p) => Method == IntervalMethod.Wilson ? Distributions.NormalQuantile(p) : Distributions.StudentTQuantile(p, Math.Max(1, Cases - 1));

    // The score statistic falls as delta rises: the lower bound is where it equals the critical value below the
    // estimate, the upper where it equals minus the critical value above it.
    private double Bound(double critical, bool lower)
    {
        var (low, high) = lower ? (-1.0, Difference) : (Difference, 1.0);
        if (lower ? Difference <= -1 : Difference >= 1)
        {
            return Difference;
        }

        var target = lower ? critical : -critical;
        for (var i = 0; i < 100 && high - low > 1e-12; i++)
        {
            var mid = (low + high) / 2;
            if (Score(mid) > target)
            {
                low = mid;
            }
            else
            {
                high = mid;
            }
        }

        return (low + high) / 2;
    }

    // The paired pass/fail trials that would give the clustered variance of the mean difference: one trial's
    // variance at the observed disagreement, (b + c)/n − d², over s²/n, at most the repeats scored under both. Null
    // when the spread cannot tell.
    private static double? EffectiveSize(IReadOnlyList<double> differences, double mean, double disagreement, int trials)
    {
        var n = differences.Count;
        var perTrial = disagreement / n - mean * mean;
        if (perTrial <= 1e-15 || n < 2)
        {
            return null;
        }

        var variance = differences.Sum(d => (d - mean) * (d - mean)) / (n - 1);
        return variance <= 1e-15 ? trials : Math.Clamp(perTrial * n / variance, 1, trials);
    }
}
