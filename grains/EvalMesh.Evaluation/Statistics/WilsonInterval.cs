namespace EvalMesh.Evaluation.Statistics;

/// <summary>A proportion with its Wilson score interval.</summary>
/// <param name="Successes">Number of passes.</param>
/// <param name="Trials">Number of trials.</param>
/// <param name="Lower">Lower bound of the interval.</param>
/// <param name="Upper">Upper bound of the interval.</param>
public readonly record struct WilsonInterval(int Successes, int Trials, double Lower, double Upper)
{
    /// <summary>z for a two-sided 95% interval.</summary>
    public const double Z95 = 1.959963984540054;

    /// <summary>The observed proportion, or 0 when there were no trials.</summary>
    public double Proportion => Trials == 0 ? 0 : (double)Successes / Trials;

    /// <summary>
    /// The Wilson score interval (Wilson 1927), which unlike the normal approximation stays inside [0, 1] and behaves at
    /// 0% and 100%. With no trials the interval is [0, 1].
    /// </summary>
    public static WilsonInterval Compute(int successes, int trials, double z = Z95)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(trials);
        ArgumentOutOfRangeException.ThrowIfNegative(successes);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(successes, trials);
        if (trials == 0)
        {
            return new WilsonInterval(0, 0, 0, 1);
        }

        var (lower, upper) = Bounds((double)successes / trials, trials, z);
        return new WilsonInterval(successes, trials, lower, upper);
    }

    /// <summary>
    /// The Wilson bounds of proportion <paramref name="p"/> over <paramref name="n"/> trials, where n need not be whole:
    /// an effective sample size, as Korn and Graubard (1998) use it for clustered samples.
    /// </summary>
    internal static (double Lower, double Upper) Bounds(double p, double n, double z)
    {
        if (n <= 0)
        {
            return (0, 1);
        }

        var z2 = z * z;
        var centre = (p + z2 / (2 * n)) / (1 + z2 / n);
        var half = z / (1 + z2 / n) * Math.Sqrt(p * (1 - p) / n + z2 / (4 * n * n));
        return (p <= 0 ? 0 : Math.Max(0, centre - half), p >= 1 ? 1 : Math.Min(1, centre + half));
    }
}
