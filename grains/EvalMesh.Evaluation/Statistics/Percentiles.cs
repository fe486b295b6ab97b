namespace EvalMesh.Evaluation.Statistics;

/// <summary>Percentiles of a sample.</summary>
public static class Percentiles
{
    /// <summary>
    /// The <paramref name="percentile"/>-th percentile (0–100) by linear interpolation between closest ranks, the
    /// default of NumPy and most spreadsheets. An empty sample gives NaN.
    /// </summary>
    public static double Of(IReadOnlyList<double> values, double percentile)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentOutOfRangeException.ThrowIfLessThan(percentile, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(percentile, 100);
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToArray();
        var rank = percentile / 100 * (sorted.Length - 1);
        var low = (int)Math.Floor(rank);
        var high = (int)Math.Ceiling(rank);
        return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
    }
}
