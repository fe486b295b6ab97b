using System.Collections.Concurrent;

namespace EvalMesh.Grains.Routing;

/// <summary>Counts of routing decisions by reason, and replica changes; exported as metrics.</summary>
public sealed class RoutingCounters
{
    private readonly ConcurrentDictionary<string, long> _placements = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _activations = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _replicas = new(StringComparer.Ordinal);

    /// <summary>Homes chosen by the directory, by reason.</summary>
    public IReadOnlyDictionary<string, long> Placements => _placements;

    /// <summary>Adapter-host activations placed by this silo's director, by reason.</summary>
    public IReadOnlyDictionary<string, long> Activations => _activations;

    /// <summary>Replica counts of adapters with more than one, as last changed by the directory on this silo.</summary>
    public IReadOnlyDictionary<string, int> Replicas => _replicas;

    internal void Placed(string reason) => _placements.AddOrUpdate(reason, 1, (_, n) => n + 1);

    internal void Activated(string reason) => _activations.AddOrUpdate(reason, 1, (_, n) => n + 1);

    internal void ReplicaChanged(string adapter, int replicas)
    {
        if (replicas <= 1)
        {
            _replicas.TryRemove(adapter, out _);
        }
        else
        {
            _replicas[adapter] = replicas;
        }
    }
}
