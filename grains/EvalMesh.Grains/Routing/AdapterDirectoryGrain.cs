using EvalMesh.Abstractions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EvalMesh.Grains.Routing;

/// <summary>
/// The residency directory. It keeps the latest report of each live silo, the home of each adapter host (the single
/// place where homes are chosen, so that concurrent first requests on different silos agree) and the replica counts.
/// All of it is soft state rebuilt from reports, so it needs no storage.
/// </summary>
public sealed partial class AdapterDirectoryGrain(
    IClusterMembershipService membership,
    IOptions<AdapterAffinityPlacementOptions> options,
    RoutingCounters counters,
    TimeProvider time,
    ILogger<AdapterDirectoryGrain> logger) : Grain, IAdapterDirectoryGrain
{
    /// <summary>The directory's single key.</summary>
    public const string Key = "all";

    private readonly Dictionary<string, SiloReport> _reports = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _homes = new(StringComparer.Ordinal);
    private readonly ReplicaPolicy _replicas = new(options.Value);
    private readonly Random _random = new();
    private long _version;

    /// <inheritdoc />
    public Task ReportAsync(SiloReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        _reports[report.Silo] = report;
        Prune();
        foreach (var adapter in _replicas.Update([.. _reports.Values], time.GetUtcNow()))
        {
            var replicas = _replicas.Replicas.GetValueOrDefault(adapter, 1);
            LogReplicas(adapter, replicas);
            counters.ReplicaChanged(adapter, replicas);

            // A retired replica's home is forgotten; its grain idles out.
            foreach (var retired in _homes.Keys.Where(k => ReplicaKey.AdapterOf(k) == adapter && ReplicaKey.NumberOf(k) > replicas).ToList())
            {
                _homes.Remove(retired);
            }
        }

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
        _version++;
        counters.Placed(decision.Reason);
        LogAssigned(hostKey, decision.Silo, decision.Reason);
        return Task.FromResult(decision);
    }

    private DirectorySnapshot Snapshot() =>
        new([.. _reports.Values], new Dictionary<string, string>(_homes, StringComparer.Ordinal), new Dictionary<string, int>(_replicas.Replicas, StringComparer.Ordinal), _version);

    private IEnumerable<string> Alive() =>
        membership.CurrentSnapshot.Members.Values.Where(m => m.Status == SiloStatus.Active).Select(m => m.SiloAddress.ToParsableString());

    // A silo that left or died is forgotten as soon as membership knows, and its adapters' homes are chosen again.
    private void Prune()
    {
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
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Adapter host {HostKey} placed on {Silo}: {Reason}")]
    private partial void LogAssigned(string hostKey, string silo, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Adapter {Adapter} now has {Replicas} replica(s)")]
    private partial void LogReplicas(string adapter, int replicas);
}
