using EvalMesh.Abstractions;

namespace EvalMesh.Grains.Routing;

/// <summary>
/// What running evals have told the directory about adapters, which the silos' reports show only later, if at all:
/// <list type="bullet">
/// <item>leases: the adapters a run still needs (its current window). A lease lasts until its holder replaces it, or
/// <c>lifetime</c> after it was last renewed, so a run that dies pins nothing for long. Placement and replicas never
/// count a leased adapter as a victim, however briefly idle or seldom used it looks (a just-loaded adapter reports a
/// frequency of 1, and one between two of its shard's requests an empty queue).</item>
/// <item>releases: the adapters a run is done with, on the silos holding or counting them when it said so. Until a
/// silo's own report agrees (the adapter idle and unused there, or no longer reported), or <c>lifetime</c> passes, each
/// counts as idle and unused on that silo (its count no part of the adapter's cluster-wide frequency), so that the next
/// load takes its slot; otherwise the report a silo made while the run's last requests were still queued makes it look
/// busy, and a load placed in that moment finds no victim and lands beside adapters the run still needs.</item>
/// </list>
/// Pure and stateful, like <see cref="ReplicaPolicy"/>.
/// </summary>
public sealed class AdapterLeases(TimeSpan lifetime)
{
    private readonly Dictionary<string, (HashSet<string> Adapters, DateTimeOffset At)> _leases = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Silo, string Adapter), DateTimeOffset> _released = [];

    /// <summary>The adapter keys leased now.</summary>
    public IReadOnlySet<string> Leased => _leases.Values.SelectMany(l => l.Adapters).ToHashSet(StringComparer.Ordinal);

    /// <summary>Replaces <paramref name="holder"/>'s lease with <paramref name="adapterKeys"/> (none ends it).</summary>
    public void Lease(string holder, IEnumerable<string> adapterKeys, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(holder);
        ArgumentNullException.ThrowIfNull(adapterKeys);
        var adapters = adapterKeys.ToHashSet(StringComparer.Ordinal);
        if (adapters.Count == 0)
        {
            _leases.Remove(holder);
        }
        else
        {
            _leases[holder] = (adapters, now);
        }
    }

    /// <summary>Records that a run is done with <paramref name="adapterKey"/>, held or counted now by <paramref name="silos"/>.</summary>
    public void Release(string adapterKey, IEnumerable<string> silos, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(silos);
        foreach (var silo in silos)
        {
            _released[(silo, adapterKey)] = now;
        }
    }

    /// <summary>
    /// Ends the leases not renewed within the lifetime, and the releases that the silos' reports now agree with, that
    /// are older than the lifetime, or whose silo is gone; returns whether any ended.
    /// </summary>
    public bool Prune(IReadOnlyDictionary<string, SiloReport> reports, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(reports);
        var expired = _leases.Where(l => now - l.Value.At > lifetime).Select(l => l.Key).ToList();
        foreach (var holder in expired)
        {
            _leases.Remove(holder);
        }

        var agreed = _released
            .Where(r => now - r.Value > lifetime || !reports.TryGetValue(r.Key.Silo, out var report) || !report.Adapters.Any(a => a.Key == r.Key.Adapter && (a.Queue > 0 || a.Frequency > 0)))
            .Select(r => r.Key)
            .ToList();
        foreach (var key in agreed)
        {
            _released.Remove(key);
        }

        return expired.Count + agreed.Count > 0;
    }

    /// <summary>A silo's report with the adapters released on it shown idle and unused.</summary>
    public SiloReport Apply(SiloReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return report.Adapters.Any(a => _released.ContainsKey((report.Silo, a.Key)))
            ? report with { Adapters = [.. report.Adapters.Select(a => _released.ContainsKey((report.Silo, a.Key)) ? a with { Frequency = 0, Queue = 0 } : a)] }
            : report;
    }
}
