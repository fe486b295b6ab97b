using EvalMesh.Abstractions;

namespace EvalMesh.Grains.Routing;

/// <summary>
/// Where an adapter host should live, decided from a directory snapshot. Pure, so that the placement director, the
/// directory and the routing simulation share one decision:
/// <list type="number">
/// <item>a silo that already holds the adapter (least queued first): no load at all;</item>
/// <item>else the silo with the most free slots, counting loads already promised to it (two random choices break
/// ties by queue depth): a load, but no eviction;</item>
/// <item>else the silo whose least often used idle adapter is the least used of all, by cluster-wide frequency
/// (<see cref="DirectorySnapshot.EvictionCostOf"/>, which each silo's own eviction ranks by too; a surplus copy costs
/// nothing): the load evicts what matters least cluster-wide, so the cluster's slots together behave like one
/// frequency-aware cache; loads already promised to a silo claim its cheapest victims first, so concurrent cold
/// adapters spread instead of evicting each other on one silo; adapters leased by running evals are never victims; a
/// silo whose adapters are all busy or leased comes last, as it could evict nothing now.</item>
/// </list>
/// Replicas of an adapter avoid the silos hosting its other replicas; a replica for which no silo could evict anything
/// now goes to a silo already holding its adapter instead, where it costs no load and evicts nothing in use.
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

        var adapter = AdapterKey.OfHost(hostKey);
        var siblings = snapshot.Homes
            .Where(h => h.Key != hostKey && AdapterKey.OfHost(h.Key) == adapter)
            .Select(h => h.Value)
            .ToHashSet(StringComparer.Ordinal);
        var eligible = candidates.Where(c => !siblings.Contains(c)).ToList();
        if (eligible.Count == 0)
        {
            eligible = [.. candidates];
        }

        var slots = new Slots(snapshot, hostKey);
        var holders = eligible.Where(s => slots.ReportOf(s).Adapters.Any(a => a.Key == adapter && a.Resident)).ToList();
        if (holders.Count > 0)
        {
            return new PlacementDecision(holders.OrderBy(s => slots.ReportOf(s).QueueDepth).ThenBy(s => s, StringComparer.Ordinal).First(), "resident");
        }

        var free = eligible.Where(s => slots.Free(s) > 0).ToList();
        if (free.Count > 0)
        {
            var most = free.Max(slots.Free);
            var best = free.Where(s => slots.Free(s) == most).ToList();
            return new PlacementDecision(TwoChoices(best, s => slots.ReportOf(s).QueueDepth, random), "free-capacity");
        }

        var lowest = eligible.Min(slots.Cost);
        if (lowest == int.MaxValue && AdapterKey.ReplicaOf(hostKey) > 1 && snapshot.HolderOf(adapter) is { } holder && candidates.Contains(holder))
        {
            return new PlacementDecision(holder, "resident");
        }

        var cheapest = eligible.Where(s => slots.Cost(s) == lowest).ToList();
        return new PlacementDecision(TwoChoices(cheapest, s => slots.ReportOf(s).QueueDepth, random), "cheapest-eviction");
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
        if (snapshot.HolderOf(adapterKey) is { } holder)
        {
            return holder;
        }

        var slots = new Slots(snapshot, adapterKey);
        if (slots.Free(here) > 0)
        {
            return here;
        }

        var candidates = snapshot.Silos.Select(s => s.Silo).ToList();
        var target = Choose(snapshot with { Homes = new Dictionary<string, string>() }, adapterKey, candidates, random).Silo;
        return target != here && (long)slots.Cost(target) * 2 < slots.Cost(here) ? target : here;
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

    /// <summary>A silo's free slots and eviction cost, net of the loads already promised to it.</summary>
    internal sealed class Slots
    {
        private readonly DirectorySnapshot _snapshot;
        private readonly Dictionary<string, SiloReport> _reports;
        private readonly Dictionary<string, int> _promised;
        private readonly IReadOnlySet<string> _leased;

        public Slots(DirectorySnapshot snapshot, string hostKey)
        {
            _snapshot = snapshot;
            _reports = snapshot.Silos.ToDictionary(s => s.Silo, StringComparer.Ordinal);
            _leased = snapshot.Leased;
            _promised = snapshot.Pending
                .Where(p => p.Key != hostKey && !ReportOf(p.Value).Adapters.Any(a => a.Key == AdapterKey.OfHost(p.Key) && a.Resident))
                .GroupBy(p => p.Value, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Select(p => AdapterKey.OfHost(p.Key)).Distinct().Count(), StringComparer.Ordinal);
        }

        /// <summary>A silo's latest report; a silo that has not reported yet counts as empty and unbounded.</summary>
        public SiloReport ReportOf(string silo) => _reports.GetValueOrDefault(silo) ?? new SiloReport(silo, int.MaxValue, 0, [], [], default);

        /// <summary>Free slots not yet promised.</summary>
        public int Free(string silo)
        {
            var report = ReportOf(silo);
            return report.Capacity == int.MaxValue ? int.MaxValue : report.Free - _promised.GetValueOrDefault(silo);
        }

        /// <summary>
        /// What a load there would evict: nothing (0) while a slot is free, else the eviction cost
        /// (<see cref="DirectorySnapshot.EvictionCostOf"/>) of the idle, unleased adapter next in line once promised
        /// loads have taken the cheapest ones (int.MaxValue when there is none).
        /// </summary>
        public int Cost(string silo)
        {
            var free = Free(silo);
            return free > 0 ? 0 : ReportOf(silo).Adapters
                .Where(a => a.Resident && a.Queue == 0 && !_leased.Contains(a.Key))
                .Select(a => _snapshot.EvictionCostOf(a.Key, silo))
                .Order()
                .Skip(-free)
                .DefaultIfEmpty(int.MaxValue)
                .First();
        }
    }
}
