namespace EvalMesh.Benchmarks;

/// <summary>Seeded request traces and the two reference policies every router is compared with.</summary>
internal static class RoutingTrace
{
    /// <summary>Adapter indices drawn from Zipf(<paramref name="exponent"/>) over <paramref name="adapters"/>: rank 1 most popular.</summary>
    public static int[] Zipf(int adapters, int requests, double exponent, int seed)
    {
        var weights = Enumerable.Range(1, adapters).Select(rank => 1 / Math.Pow(rank, exponent)).ToArray();
        var total = weights.Sum();
        var cumulative = new double[adapters];
        var running = 0.0;
        for (var i = 0; i < adapters; i++)
        {
            running += weights[i] / total;
            cumulative[i] = running;
        }

        var random = new Random(seed);
        return [.. Enumerable.Range(0, requests).Select(_ =>
        {
            var x = random.NextDouble();
            var index = Array.BinarySearch(cumulative, x);
            return Math.Min(adapters - 1, index < 0 ? ~index : index);
        })];
    }

    /// <summary>
    /// Loads of an online cache of <paramref name="slots"/> that knows the true popularity ranks: on a miss it evicts
    /// the least popular resident adapter.
    /// </summary>
    public static int PopularityOracle(int[] trace, int slots)
    {
        var resident = new SortedSet<int>();
        var loads = 0;
        foreach (var adapter in trace)
        {
            if (resident.Contains(adapter))
            {
                continue;
            }

            loads++;
            if (resident.Count == slots)
            {
                resident.Remove(resident.Max);
            }

            resident.Add(adapter);
        }

        return loads;
    }

    /// <summary>
    /// Loads of an ideal least-frequently-used cache of <paramref name="slots"/>: exact counts of every request so far,
    /// never forgotten; on a miss it evicts the least requested resident adapter, the least recently used among equals.
    /// This is what the cluster's frequency-aware placement approximates, with one cache and perfect counts: the cost
    /// of learning popularities online, which the oracle does not pay.
    /// </summary>
    public static int IdealLfu(int[] trace, int slots)
    {
        var counts = new Dictionary<int, int>();
        var lastUsed = new Dictionary<int, int>();
        var resident = new HashSet<int>();
        var loads = 0;
        for (var i = 0; i < trace.Length; i++)
        {
            var adapter = trace[i];
            counts[adapter] = counts.GetValueOrDefault(adapter) + 1;
            if (resident.Add(adapter))
            {
                loads++;
                if (resident.Count > slots)
                {
                    resident.Remove(resident.Where(a => a != adapter).MinBy(a => ((long)counts[a] << 32) + lastUsed[a]));
                }
            }

            lastUsed[adapter] = i;
        }

        return loads;
    }

    /// <summary>Loads of Belady's offline optimum for one cache of <paramref name="slots"/>: evict the adapter used furthest in the future.</summary>
    public static int Belady(int[] trace, int slots)
    {
        var next = new int[trace.Length];
        var seen = new Dictionary<int, int>();
        for (var i = trace.Length - 1; i >= 0; i--)
        {
            next[i] = seen.GetValueOrDefault(trace[i], int.MaxValue);
            seen[trace[i]] = i;
        }

        var resident = new Dictionary<int, int>();
        var loads = 0;
        for (var i = 0; i < trace.Length; i++)
        {
            if (!resident.ContainsKey(trace[i]))
            {
                loads++;
                if (resident.Count == slots)
                {
                    resident.Remove(resident.MaxBy(r => r.Value).Key);
                }
            }

            resident[trace[i]] = next[i];
        }

        return loads;
    }
}
