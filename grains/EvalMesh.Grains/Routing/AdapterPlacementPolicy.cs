using EvalMesh.Abstractions;

namespace EvalMesh.Grains.Routing;

/// <summary>
/// Where an adapter host should live, decided from a directory snapshot. Pure, so that the placement director, the
/// directory and the routing simulation share one decision:
/// <list type="number">
/// <item>a silo that already holds the adapter (least queued first): no load at all;</item>
/// <item>else the silo with the most free slots, counting homes already promised to it (two random choices break
/// ties by queue depth): a load, but no eviction;</item>
/// <item>else the silo whose least often used idle adapter is the least used of all: the load evicts what matters
/// least cluster-wide, so the cluster's slots together behave like one frequency-aware cache; a silo whose adapters
/// are all busy comes last, as it could evict nothing now.</item>
/// </list>
/// Replicas of an adapter avoid the silos hosting its other replicas.
/// </summary>
public static class AdapterPlacementPolicy
{
    /// <summary>Chooses a silo for an adapter-host key among <paramref name="candidates"/>.</summary>
    public static PlacementDecision Choose(DirectorySnapshot snapshot, string hostKey, IReadOnlyList<string> candidates, Random random)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(random);
        if (candidates.Count == 0)
        {
            throw new InvalidOperationException("no silo is available to place an adapter host on");
        }

        var adapter = ReplicaKey.AdapterOf(hostKey);
        var siblings = snapshot.Homes
            .Where(h => h.Key != hostKey && ReplicaKey.AdapterOf(h.Key) == adapter)
            .Select(h => h.Value)
            .ToHashSet(StringComparer.Ordinal);
        var eligible = candidates.Where(c => !siblings.Contains(c)).ToList();
        if (eligible.Count == 0)
        {
            eligible = [.. candidates];
        }

        var reports = snapshot.Silos.ToDictionary(s => s.Silo, StringComparer.Ordinal);
        SiloReport ReportOf(string silo) => reports.GetValueOrDefault(silo) ?? new SiloReport(silo, int.MaxValue, 0, [], [], default);

        var holders = eligible.Where(s => ReportOf(s).Adapters.Any(a => a.Key == adapter && a.Resident)).ToList();
        if (holders.Count > 0)
        {
            return new PlacementDecision(holders.OrderBy(s => ReportOf(s).QueueDepth).ThenBy(s => s, StringComparer.Ordinal).First(), "resident");
        }

        // Homes promised to a silo whose adapters it has not loaded yet will take slots there soon.
        var promised = snapshot.Homes
            .Where(h => h.Key != hostKey)
            .GroupBy(h => h.Value, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(h => ReplicaKey.AdapterOf(h.Key)).Distinct().Count(a => !ReportOf(g.Key).Adapters.Any(x => x.Key == a && x.Resident)), StringComparer.Ordinal);
        int FreeOf(string silo)
        {
            var report = ReportOf(silo);
            return report.Capacity == int.MaxValue ? int.MaxValue : report.Free - promised.GetValueOrDefault(silo);
        }

        var free = eligible.Where(s => FreeOf(s) > 0).ToList();
        if (free.Count > 0)
        {
            var most = free.Max(FreeOf);
            var best = free.Where(s => FreeOf(s) == most).ToList();
            return new PlacementDecision(TwoChoices(best, s => ReportOf(s).QueueDepth, random), "free-capacity");
        }

        int CheapestVictim(string silo) => ReportOf(silo).Adapters.Where(a => a.Resident && a.Queue == 0).Select(a => a.Frequency).DefaultIfEmpty(int.MaxValue).Min();
        var lowest = eligible.Min(CheapestVictim);
        var cheapest = eligible.Where(s => CheapestVictim(s) == lowest).ToList();
        return new PlacementDecision(TwoChoices(cheapest, s => ReportOf(s).QueueDepth, random), "cheapest-eviction");
    }

    // Power of two choices: two random candidates, the less loaded wins.
    private static string TwoChoices(List<string> silos, Func<string, int> load, Random random)
    {
        if (silos.Count == 1)
        {
            return silos[0];
        }

        var a = silos[random.Next(silos.Count)];
        var b = silos[random.Next(silos.Count)];
        return load(b) < load(a) ? b : a;
    }
}
