using EvalMesh.Abstractions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EvalMesh.Grains.Routing;

/// <summary>
/// The residency directory. It keeps the latest report of each live silo, the home of each adapter host (the single
/// place where homes are chosen, so that concurrent first requests on different silos agree) and the replica counts.
/// It also keeps the loads it has promised until the silo reports the adapter resident (or a few seconds pass), so
/// that concurrent decisions share out free slots and victims instead of all picking the same one, and what running
/// evals need and are done with (<see cref="AdapterLeases"/>). All of it is soft state rebuilt from reports and
/// renewed leases, so it needs no storage.
/// </summary>
public sealed partial class AdapterDirectoryGrain(
    IClusterMembershipService membership,
    IOptions<AdapterAffinityPlacementOptions> options,
    TimeProvider time,
    ILogger<AdapterDirectoryGrain> logger) : Grain, IAdapterDirectoryGrain
{
    /// <summary>How long a promised load claims its slot if the silo never reports the adapter resident.</summary>
    public static readonly TimeSpan PromiseLifetime = TimeSpan.FromSeconds(5);

    /// <summary>How long a lease lasts unless renewed (runs renew theirs every couple of seconds), and a release counts if the silo's reports never agree.</summary>
    public static readonly TimeSpan LeaseLifetime = TimeSpan.FromSeconds(10);

    private readonly Dictionary<string, SiloReport> _reports = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _homes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string Silo, DateTimeOffset At)> _pending = new(StringComparer.Ordinal);
    private readonly ReplicaPolicy _replicas = new(options.Value);
    private readonly AdapterLeases _leases = new(LeaseLifetime);
    private readonly Random _random = new();
    private long _version;

    /// <inheritdoc />
    public Task ReportAsync(SiloReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        _reports[report.Silo] = report;
        Prune();
        foreach (var adapter in _replicas.Update(Snapshot(), time.GetUtcNow()))
        {
            var replicas = _replicas.Replicas.GetValueOrDefault(adapter, 1);
            LogReplicas(adapter, replicas);

            // A retired replica's home is forgotten; its grain idles out.
            foreach (var retired in _homes.Keys.Where(k => AdapterKey.OfHost(k) == adapter && AdapterKey.ReplicaOf(k) > replicas).ToList())
            {
                _homes.Remove(retired);
            }
        }

        RoutingMetrics.SetReplicas(_reports.Values.SelectMany(r => r.Adapters).Where(a => a.Resident).Select(a => a.Key).Distinct(StringComparer.Ordinal)
            .ToDictionary(a => a, a => _replicas.Replicas.GetValueOrDefault(a, 1), StringComparer.Ordinal));
        _version++;
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<DirectorySnapshot> GetSnapshotAsync()
    {
        Prune();
        return Task.FromResult(Snapshot());
    }

    /// <inheritdoc />
    public Task<PlacementDecision> AssignAsync(string hostKey)
    {
        Prune();
        if (_homes.TryGetValue(hostKey, out var home))
        {
            return Task.FromResult(new PlacementDecision(home, "home"));
        }

        var alive = Alive().ToList();
        var decision = AdapterPlacementPolicy.Choose(Snapshot(), hostKey, alive, _random);
        _homes[hostKey] = decision.Silo;
        if (decision.Reason != "resident")
        {
            _pending[hostKey] = (decision.Silo, time.GetUtcNow());
        }

        _version++;
        RoutingMetrics.Placed(decision.Reason);
        LogAssigned(hostKey, decision.Silo, decision.Reason);
        return Task.FromResult(decision);
    }

    /// <inheritdoc />
    public Task<string> PlanLoadAsync(string adapterKey, string here)
    {
        Prune();
        var snapshot = Snapshot();
        if (snapshot.HolderOf(adapterKey) is { } holder)
        {
            return Task.FromResult(holder);
        }

        if (_pending.TryGetValue(adapterKey, out var promised))
        {
            return Task.FromResult(promised.Silo);
        }

        var silo = AdapterPlacementPolicy.ServeAt(snapshot, adapterKey, here, _random);
        _pending[adapterKey] = (silo, time.GetUtcNow());
        _version++;
        if (silo != here)
        {
            RoutingMetrics.Placed("follow");
            LogFollowed(adapterKey, here, silo);
        }

        return Task.FromResult(silo);
    }

    /// <inheritdoc />
    public async Task ReleaseAsync(string adapterKey)
    {
        // Its count on silos that evicted it is part of its cluster-wide frequency too.
        var silos = _reports.Values.Where(r => r.Adapters.Any(a => a.Key == adapterKey && (a.Resident || a.Frequency > 0))).Select(r => r.Silo).ToList();
        _leases.Release(adapterKey, silos, time.GetUtcNow());
        _version++;
        await Task.WhenAll(silos.Select(silo => GrainFactory.GetSiloAgent(silo).ReleaseAsync(adapterKey)));
    }

    /// <inheritdoc />
    public Task LeaseAsync(string holder, IReadOnlyList<string> adapterKeys)
    {
        _leases.Lease(holder, adapterKeys, time.GetUtcNow());
        _version++;
        return Task.CompletedTask;
    }

    // The reports show what runs have released since as idle and unused.
    private DirectorySnapshot Snapshot() =>
        new(
            [.. _reports.Values.Select(_leases.Apply)],
            new Dictionary<string, string>(_homes, StringComparer.Ordinal),
            new Dictionary<string, int>(_replicas.Replicas, StringComparer.Ordinal),
            _version,
            _pending.ToDictionary(p => p.Key, p => p.Value.Silo, StringComparer.Ordinal),
            _leases.Leased);

    private IEnumerable<string> Alive() =>
        membership.CurrentSnapshot.Members.Values.Where(m => m.Status == SiloStatus.Active).Select(m => m.SiloAddress.ToParsableString());

    // A silo that left or died is forgotten as soon as membership knows, and its adapters' homes are chosen again.
    // A promise ends when its silo reports the adapter resident, or after PromiseLifetime; leases and releases as
    // AdapterLeases says.
    private void Prune()
    {
        var now = time.GetUtcNow();
        foreach (var (hostKey, (silo, at)) in _pending.ToList())
        {
            if (now - at > PromiseLifetime || (_reports.TryGetValue(silo, out var report) && report.Adapters.Any(a => a.Key == AdapterKey.OfHost(hostKey) && a.Resident)))
            {
                _pending.Remove(hostKey);
                _version++;
            }
        }

        var alive = Alive().ToHashSet(StringComparer.Ordinal);
        foreach (var gone in _reports.Keys.Where(s => !alive.Contains(s)).ToList())
        {
            _reports.Remove(gone);
            _version++;
        }

        foreach (var orphan in _homes.Where(h => !alive.Contains(h.Value)).Select(h => h.Key).ToList())
        {
            _homes.Remove(orphan);
            _version++;
        }

        if (_leases.Prune(_reports, now))
        {
            _version++;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Adapter host {HostKey} placed on {Silo}: {Reason}")]
    private partial void LogAssigned(string hostKey, string silo, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Adapter {Adapter} not resident on {Here}: loading it on {Silo}, where eviction costs least")]
    private partial void LogFollowed(string adapter, string here, string silo);

    [LoggerMessage(Level = LogLevel.Information, Message = "Adapter {Adapter} now has {Replicas} replica(s)")]
    private partial void LogReplicas(string adapter, int replicas);
}
