using EvalMesh.Grains.Hosting;
using Prometheus;

namespace EvalMesh.Grains.Routing;

/// <summary>
/// Routing metrics, exported at a silo's <c>/metrics</c>: placement decisions by who made them and why, and the replica
/// count of each adapter resident somewhere (from the directory, so only the directory's silo exports it).
/// </summary>
internal static class RoutingMetrics
{
    private static readonly Counter Decisions = Metrics.CreateCounter(
        "evalmesh_routing_decisions_total",
        "Placement decisions, by decider (directory: a home or a load; director: an activation) and reason (resident, free, evict, follow, home, ...).",
        "decider",
        "reason");

    private static readonly CurrentGauge Replicas = new(Metrics.CreateGauge(
        "evalmesh_adapter_replicas", "Replicas an adapter's requests are spread over (1 unless it is hot), for each adapter resident somewhere.", "adapter"));

    /// <summary>Counts a home or load chosen by the directory.</summary>
    public static void Placed(string reason) => Decisions.WithLabels("directory", reason).Inc();

    /// <summary>Counts an adapter-host activation placed by a silo's director.</summary>
    public static void Activated(string reason) => Decisions.WithLabels("director", reason).Inc();

    /// <summary>Sets the replica counts; adapters no longer resident anywhere are dropped.</summary>
    public static void SetReplicas(IReadOnlyDictionary<string, int> replicas) =>
        Replicas.Publish(replicas.Select(r => (new[] { r.Key }, (double)r.Value)));
}
