using EvalMesh.Abstractions;

namespace EvalMesh.Grains.Routing;

/// <summary>
/// How many replicas each adapter gets: another when its requests per replica stay above the hot threshold for a
/// while and some silo has room for it (a free slot, or an idle adapter used at most a quarter as often, so that a
/// replica never pushes out an adapter about as busy as the one it relieves; neither claimed by a promised load nor
/// leased by a running eval), one fewer when they stay at or below the cool threshold for a while. An adapter leased by
/// a running eval gets a replica only in a free slot: the run fits its window to the cluster's slots, so the adapters
/// resident elsewhere are either its own or the room its next loads will take. Pure and stateful (the hysteresis
/// clocks); the directory and the simulation use the same code.
/// </summary>
public sealed class ReplicaPolicy(AdapterAffinityPlacementOptions options)
{
    private readonly Dictionary<string, int> _replicas = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _hotSince = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _coolSince = new(StringComparer.Ordinal);

    /// <summary>The current replica counts (only adapters with more than one).</summary>
    public IReadOnlyDictionary<string, int> Replicas => _replicas;

    /// <summary>Updates the counts from the directory; returns the adapters whose count changed.</summary>
    public IReadOnlyList<string> Update(DirectorySnapshot snapshot, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var silos = snapshot.Silos;
        var queues = silos.SelectMany(s => s.Adapters).GroupBy(a => a.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Sum(a => a.Queue), StringComparer.Ordinal);
        var changed = new List<string>();
        var ceiling = Math.Max(1, Math.Min(options.MaxReplicas, silos.Count));
        foreach (var adapter in queues.Keys.Union(_replicas.Keys).ToList())
        {
            var replicas = _replicas.GetValueOrDefault(adapter, 1);
            var perReplica = (double)queues.GetValueOrDefault(adapter) / replicas;
            if (perReplica > options.HotQueueDepth && replicas < ceiling)
            {
                _coolSince.Remove(adapter);
                if (!_hotSince.TryGetValue(adapter, out var since))
                {
                    _hotSince[adapter] = now;
                }
                else if (now - since >= options.HotFor && HasRoom(snapshot, adapter, replicas + 1))
                {
                    Set(adapter, replicas + 1);
                    _hotSince.Remove(adapter);
                    changed.Add(adapter);
                }
            }
            else if (perReplica <= options.CoolQueueDepth && replicas > 1)
            {
                _hotSince.Remove(adapter);
                if (!_coolSince.TryGetValue(adapter, out var since))
                {
                    _coolSince[adapter] = now;
                }
                else if (now - since >= options.CoolFor)
                {
                    Set(adapter, replicas - 1);
                    _coolSince.Remove(adapter);
                    changed.Add(adapter);
                }
            }
            else
            {
                _hotSince.Remove(adapter);
                _coolSince.Remove(adapter);
            }
        }

        return changed;
    }

    private static bool HasRoom(DirectorySnapshot snapshot, string adapter, int replica)
    {
        var frequency = snapshot.FrequencyOf(adapter);
        var slots = new AdapterPlacementPolicy.Slots(snapshot, AdapterKey.Replica(adapter, replica));
        var leased = snapshot.Leased.Contains(adapter);
        return snapshot.Silos
            .Where(s => !s.Adapters.Any(a => a.Key == adapter && a.Resident))
            .Any(s => leased ? slots.Free(s.Silo) > 0 : (long)slots.Cost(s.Silo) * 4 <= frequency);
    }

    private void Set(string adapter, int replicas)
    {
        if (replicas <= 1)
        {
            _replicas.Remove(adapter);
        }
        else
        {
            _replicas[adapter] = replicas;
        }
    }
}
