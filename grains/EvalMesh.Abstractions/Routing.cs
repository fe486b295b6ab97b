using System.Runtime.CompilerServices;

namespace EvalMesh.Abstractions;

/// <summary>One adapter as a silo sees it.</summary>
/// <param name="Key">The adapter key, <c>model|adapter</c>.</param>
/// <param name="Resident">Whether it is loaded on the silo now.</param>
/// <param name="Frequency">How often it has been asked for there lately, also once evicted there (a ghost count); the
/// silos' counts together make its cluster-wide frequency (<see cref="DirectorySnapshot.FrequencyOf"/>).</param>
/// <param name="Queue">Requests for it waiting or running there.</param>
/// <param name="Loads">Times it was loaded there.</param>
/// <param name="Hits">Requests that found it loaded there.</param>
/// <param name="Evictions">Times it was evicted there.</param>
/// <param name="Bytes">Its size when loaded.</param>
[GenerateSerializer, Immutable, Alias("evalmesh.adapter-load")]
public sealed record AdapterLoad(
    [property: Id(0)] string Key,
    [property: Id(1)] bool Resident,
    [property: Id(2)] int Frequency,
    [property: Id(3)] int Queue,
    [property: Id(4)] long Loads,
    [property: Id(5)] long Hits,
    [property: Id(6)] long Evictions,
    [property: Id(7)] long Bytes);

/// <summary>What a silo reports to the residency directory, several times a second.</summary>
/// <param name="Silo">The silo's address.</param>
/// <param name="Capacity">The most adapters it keeps loaded.</param>
/// <param name="QueueDepth">Inference requests waiting or running on it.</param>
/// <param name="Adapters">The adapters it has loaded, served or still counts.</param>
/// <param name="Hosts">The adapter-host grains active on it (their keys).</param>
/// <param name="At">When the report was made.</param>
[GenerateSerializer, Immutable, Alias("evalmesh.silo-report")]
public sealed record SiloReport(
    [property: Id(0)] string Silo,
    [property: Id(1)] int Capacity,
    [property: Id(2)] int QueueDepth,
    [property: Id(3)] IReadOnlyList<AdapterLoad> Adapters,
    [property: Id(4)] IReadOnlyList<string> Hosts,
    [property: Id(5)] DateTimeOffset At)
{
    /// <summary>Adapters loaded now.</summary>
    public int Resident => Adapters.Count(a => a.Resident);

    /// <summary>Free adapter slots.</summary>
    public int Free => Math.Max(0, Capacity - Resident);
}

/// <summary>The residency directory as every silo sees it: reports, adapter homes and replica counts.</summary>
/// <param name="Silos">The latest report of each live silo.</param>
/// <param name="Homes">The silo chosen for each adapter-host key (<c>model|adapter</c>, replicas <c>model|adapter#2</c> …).</param>
/// <param name="Replicas">How many replicas each hot adapter has (absent means one).</param>
/// <param name="Version">Increases with every change.</param>
/// <param name="Pending">Loads promised but not yet reported: adapter-host key → the silo that will load it. Each claims
/// a slot there, so that concurrent decisions do not all pick the same free slot or the same victim.</param>
/// <param name="Leased">Adapter keys that running evals still need (see <see cref="IAdapterDirectoryGrain.LeaseAsync"/>):
/// no load or replica is placed to evict them while anything else could make room.</param>
[GenerateSerializer, Immutable, Alias("evalmesh.directory-snapshot")]
public sealed record DirectorySnapshot(
    [property: Id(0)] IReadOnlyList<SiloReport> Silos,
    [property: Id(1)] IReadOnlyDictionary<string, string> Homes,
    [property: Id(2)] IReadOnlyDictionary<string, int> Replicas,
    [property: Id(3)] long Version,
    [property: Id(4)] IReadOnlyDictionary<string, string> Pending,
    [property: Id(5)] IReadOnlySet<string> Leased)
{
    /// <summary>An empty directory.</summary>
    public static DirectorySnapshot Empty { get; } = new([], new Dictionary<string, string>(), new Dictionary<string, int>(), 0, new Dictionary<string, string>(), new HashSet<string>());

    // The sums and indexes, computed once per list of reports or homes (a snapshot's never change; a copy made with
    // `with` that replaces them gets its own).
    private static readonly ConditionalWeakTable<IReadOnlyList<SiloReport>, Dictionary<string, int>> Frequencies = new();
    private static readonly ConditionalWeakTable<IReadOnlyList<SiloReport>, Dictionary<string, HashSet<string>>> ResidentBySilo = new();
    private static readonly ConditionalWeakTable<IReadOnlyDictionary<string, string>, Dictionary<string, HashSet<string>>> HomesByAdapter = new();

    /// <summary>The least queued silo holding an adapter now, if any.</summary>
    public string? HolderOf(string adapterKey) =>
        Silos.Where(s => s.Adapters.Any(a => a.Key == adapterKey && a.Resident)).OrderBy(s => s.QueueDepth).FirstOrDefault()?.Silo;

    /// <summary>The replica count of an adapter.</summary>
    public int ReplicasOf(string adapterKey) => Replicas.TryGetValue(adapterKey, out var n) ? n : 1;

    /// <summary>
    /// An adapter's cluster-wide frequency: the sum of every live silo's count for it, resident or evicted there. Both
    /// placement's eviction cost and each silo's own choice of victim use it, so that the cluster's slots together
    /// behave like one frequency-aware cache: an adapter evicted on one silo and loaded on another keeps its history
    /// instead of starting again at one, as the cheapest victim there.
    /// </summary>
    public int FrequencyOf(string adapterKey) => Frequencies.GetValue(Silos, Sum).GetValueOrDefault(adapterKey);

    /// <summary>
    /// What the silos other than <paramref name="silo"/> add to its own count of an adapter to make
    /// <see cref="FrequencyOf"/>: a silo adds its live count to this and ranks its victims as the directory does.
    /// </summary>
    public int FrequencyElsewhere(string adapterKey, string silo) =>
        FrequencyOf(adapterKey) - Silos.Where(s => s.Silo == silo).SelectMany(s => s.Adapters).Where(a => a.Key == adapterKey).Sum(a => a.Frequency);

    /// <summary>
    /// Whether a silo's copy of an adapter is surplus: no host of the adapter (replicas included) lives on the silo,
    /// while another silo that is home to one holds the adapter too. Such a copy, typically left behind by a retired
    /// replica, only serves requests that the other copy would serve, so evicting it costs no load.
    /// </summary>
    public bool IsSurplus(string adapterKey, string silo)
    {
        var homes = HomesByAdapter.GetValue(Homes, ByAdapter).GetValueOrDefault(adapterKey);
        var resident = ResidentBySilo.GetValue(Silos, BySilo);
        return homes is not null && !homes.Contains(silo) && homes.Any(home => resident.GetValueOrDefault(home)?.Contains(adapterKey) == true);
    }

    /// <summary>What evicting an adapter from a silo puts at risk: its <see cref="FrequencyOf"/>, or nothing for a surplus copy (<see cref="IsSurplus"/>).</summary>
    public int EvictionCostOf(string adapterKey, string silo) => IsSurplus(adapterKey, silo) ? 0 : FrequencyOf(adapterKey);

    private static Dictionary<string, HashSet<string>> ByAdapter(IReadOnlyDictionary<string, string> homes) =>
        homes.GroupBy(h => AdapterKey.OfHost(h.Key), StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(h => h.Value).ToHashSet(StringComparer.Ordinal), StringComparer.Ordinal);

    private static Dictionary<string, HashSet<string>> BySilo(IReadOnlyList<SiloReport> silos) =>
        silos.ToDictionary(s => s.Silo, s => s.Adapters.Where(a => a.Resident).Select(a => a.Key).ToHashSet(StringComparer.Ordinal), StringComparer.Ordinal);

    private static Dictionary<string, int> Sum(IReadOnlyList<SiloReport> silos)
    {
        var sums = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var adapter in silos.SelectMany(s => s.Adapters))
        {
            sums[adapter.Key] = sums.GetValueOrDefault(adapter.Key) + adapter.Frequency;
        }

        return sums;
    }
}

/// <summary>Where an adapter-host key was placed, and why.</summary>
/// <param name="Silo">The silo.</param>
/// <param name="Reason"><c>resident</c>, <c>free-capacity</c>, <c>cheapest-eviction</c> or <c>home</c> (counted by the
/// directory together with <c>follow</c>: a host sending a load to another silo).</param>
[GenerateSerializer, Immutable, Alias("evalmesh.placement-decision")]
public sealed record PlacementDecision(
    [property: Id(0)] string Silo,
    [property: Id(1)] string Reason);

/// <summary>
/// The residency directory (single grain, key "all"): which silos hold which adapters, their capacity and load, the
/// home of each adapter host, and how many replicas hot adapters have. Its state is rebuilt from silo reports, so it
/// needs no storage; dead silos are dropped within the membership failure window.
/// </summary>
[Alias("evalmesh.adapter-directory")]
public interface IAdapterDirectoryGrain : IGrainWithStringKey
{
    /// <summary>A silo's report.</summary>
    [Alias("report")]
    Task ReportAsync(SiloReport report);

    /// <summary>The directory.</summary>
    [Alias("snapshot")]
    Task<DirectorySnapshot> GetSnapshotAsync();

    /// <summary>The home of an adapter-host key, choosing one if it has none (the single place such choices are made).</summary>
    [Alias("assign")]
    Task<PlacementDecision> AssignAsync(string hostKey);

    /// <summary>
    /// Where to serve a request for an adapter that its host on <paramref name="here"/> does not hold: a holder, the
    /// silo already loading it, or a new choice, which is then promised (see <see cref="DirectorySnapshot.Pending"/>).
    /// </summary>
    [Alias("plan-load")]
    Task<string> PlanLoadAsync(string adapterKey, string here);

    /// <summary>
    /// A run is done with an adapter: the silos holding it forget how often it was used, so that it is the first to
    /// make room, and the directory counts it as idle and unused there from now on, until their reports agree.
    /// </summary>
    [Alias("release")]
    Task ReleaseAsync(string adapterKey);

    /// <summary>
    /// <paramref name="holder"/> (a run) needs <paramref name="adapterKeys"/> now: until the holder replaces the set or
    /// it expires, no load or replica is placed to evict them while anything else could make room. A holder renews its
    /// lease while it works, so that one that dies pins nothing for long.
    /// </summary>
    [Alias("lease")]
    Task LeaseAsync(string holder, IReadOnlyList<string> adapterKeys);
}

/// <summary>
/// This silo's agent (key = the silo's address; always activates on that silo): evicts and prefetches adapters on it.
/// </summary>
[Alias("evalmesh.silo-agent")]
public interface ISiloAgentGrain : IGrainWithStringKey
{
    /// <summary>Unloads an adapter here unless in use; returns whether it was loaded and is now gone.</summary>
    [Alias("evict")]
    Task<bool> EvictAsync(string adapterKey);

    /// <summary>Tells this silo a run is done with an adapter, so that it is the first to make room (it stays loaded until then).</summary>
    [Alias("release")]
    Task ReleaseAsync(string adapterKey);

    /// <summary>Loads an adapter here ahead of use, if a slot is free or an idle adapter can make room.</summary>
    [Alias("prefetch")]
    Task<bool> PrefetchAsync(string adapterKey);

    /// <summary>Runs a completion on this silo, whatever holds the adapter, as <see cref="IAdapterHostGrain.InferAsync"/> does (for pinned requests and routing baselines).</summary>
    [Alias("infer")]
    IAsyncEnumerable<InferenceChunk> InferAsync(string adapterKey, InferenceRequest request, bool stream, CancellationToken cancellationToken = default);
}
