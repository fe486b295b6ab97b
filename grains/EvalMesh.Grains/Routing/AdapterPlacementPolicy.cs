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

        var lowest = eligible.Min(s => CheapestVictim(ReportOf(s)));
        var cheapest = eligible.Where(s => CheapestVictim(ReportOf(s)) == lowest).ToList();
        return new PlacementDecision(TwoChoices(cheapest, s => ReportOf(s).QueueDepth, random), "cheapest-eviction");
    }

    /// <summary>
    /// Where a request for an adapter should be served by its host on silo <paramref name="here"/>, which does not
    /// hold the adapter now. A hit elsewhere beats a load here; a load stays here while this silo has a free slot;
    /// otherwise it moves to the silo <see cref="Choose"/> picks, but only if evicting there is clearly cheaper than
    /// evicting here (half the frequency or less), since moving costs a hop and warm prefixes.
    /// </summary>
    public static string ServeAt(DirectorySnapshot snapshot, string adapterKey, string here, Random random)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var holder = snapshot.Silos
            .Where(s => s.Adapters.Any(a => a.Key == adapterKey && a.Resident))
            .OrderBy(s => s.QueueDepth)
            .FirstOrDefault();
        if (holder is not null)
        {
            return holder.Silo;
        }

        var local = snapshot.Silos.FirstOrDefault(s => s.Silo == here);
        if (local is null || local.Free > 0)
        {
            return here;
        }

        var candidates = snapshot.Silos.Select(s => s.Silo).ToList();
        var target = Choose(snapshot with { Homes = new Dictionary<string, string>() }, adapterKey, candidates, random).Silo;
        var elsewhere = snapshot.Silos.First(s => s.Silo == target);
        var cost = elsewhere.Free > 0 ? 0L : CheapestVictim(elsewhere);
        return target != here && cost * 2 < CheapestVictim(local) ? target : here;
    }

    // The frequency of the least used idle adapter a silo could evict (int.MaxValue if every adapter is busy).
    private static int CheapestVictim(SiloReport report) =>
        report.Adapters.Where(a => a.Resident && a.Queue == 0).Select(a => a.Frequency).DefaultIfEmpty(int.MaxValue).Min();

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
