using System.Text.Json.Serialization;

namespace EvalMesh.Contracts;

/// <summary>The order in which a run's shards are dispatched.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<RunSchedule>))]
public enum RunSchedule
{
    /// <summary>
    /// Shards grouped by adapter, no more adapters at once than the cluster holds, resident ones first, upcoming ones
    /// prefetched and finished ones released.
    /// </summary>
    [JsonStringEnumMemberName("adapter-aware")]
    AdapterAware,

    /// <summary>Shards in plan order, for comparison.</summary>
    [JsonStringEnumMemberName("fifo")]
    Fifo,
}
