namespace EvalMesh.Inference.Endpoints;

/// <summary>
/// Max-min fair shares of a capacity (water-filling): each claimant gets what it wants if that is no more than an
/// equal split of what the smaller claims left, and the claimants that want more split the rest equally. Nothing is
/// left idle while someone wants it, and no one who wants more gets less than anyone else.
/// </summary>
public static class FairShare
{
    /// <summary>Splits <paramref name="capacity"/> among <paramref name="wants"/> (∞ for "as much as there is").</summary>
    public static double[] Split(double capacity, IReadOnlyList<double> wants)
    {
        ArgumentNullException.ThrowIfNull(wants);
        var shares = new double[wants.Count];
        var left = capacity;
        var order = Enumerable.Range(0, wants.Count).OrderBy(i => wants[i]).ToList();
        for (var n = 0; n < order.Count; n++)
        {
            var i = order[n];
            shares[i] = Math.Max(0, Math.Min(wants[i], left / (order.Count - n)));
            left -= shares[i];
        }

        return shares;
    }

    /// <summary>Splits whole units: the fair shares rounded down, then the units left one each to the claimants still short, in order.</summary>
    public static int[] SplitWhole(int capacity, IReadOnlyList<double> wants)
    {
        var shares = Split(capacity, wants).Select(s => (int)Math.Floor(s + 1e-9)).ToArray();
        var left = capacity - shares.Sum();
        for (var i = 0; left > 0 && i < shares.Length; i++)
        {
            if (shares[i] < wants[i])
            {
                shares[i]++;
                left--;
            }
        }

        return shares;
    }
}
