namespace EvalMesh.Inference.Llama;

/// <summary>Counters of the adapter cache.</summary>
/// <param name="Loads">Adapters loaded into llama.cpp.</param>
/// <param name="Evictions">Adapters unloaded to make room.</param>
/// <param name="Hits">Requests whose adapter was already loaded.</param>
/// <param name="Misses">Requests that had to load their adapter.</param>
/// <param name="Resident">Adapters loaded now.</param>
/// <param name="ResidentBytes">Bytes of the adapter files loaded now.</param>
public sealed record AdapterCacheStats(long Loads, long Evictions, long Hits, long Misses, int Resident, long ResidentBytes);

/// <summary>One loaded adapter.</summary>
/// <param name="Files">The base model and adapter files.</param>
/// <param name="Bytes">Its size.</param>
/// <param name="InUse">Requests using it now.</param>
/// <param name="Frequency">How often it has been asked for lately.</param>
public sealed record ResidentAdapter(ModelFiles Files, long Bytes, int InUse, int Frequency);

/// <summary>What happened to one adapter in this process.</summary>
/// <param name="Loads">Times it was loaded.</param>
/// <param name="Hits">Requests that found it loaded.</param>
/// <param name="Misses">Requests that had to load it.</param>
/// <param name="Evictions">Times it was evicted.</param>
public sealed record AdapterCounters(long Loads, long Hits, long Misses, long Evictions);

/// <summary>What a model host holds, read from any thread: its adapters, their counts and its capacity.</summary>
public interface IAdapterResidency
{
    /// <summary>The most adapters the host keeps loaded.</summary>
    int Capacity { get; }

    /// <summary>The cache's counters.</summary>
    AdapterCacheStats Stats { get; }

    /// <summary>The adapters loaded now.</summary>
    IReadOnlyList<ResidentAdapter> Resident { get; }

    /// <summary>Loads, hits, misses and evictions per adapter this process has seen.</summary>
    IReadOnlyDictionary<ModelFiles, AdapterCounters> Counters { get; }

    /// <summary>Whether an adapter is loaded now.</summary>
    bool IsResident(ModelFiles files);

    /// <summary>How often an adapter has been asked for here lately, also once evicted (a ghost count).</summary>
    int FrequencyOf(ModelFiles files);
}
