using EvalMesh.Contracts;

namespace EvalMesh.Abstractions;

/// <summary>
/// Every grain key EvalMesh uses, built in one place: singletons (<c>all</c>), shards (<c>run/shard</c>), registered
/// adapters (<c>model:name</c>), adapter hosts (<c>model|adapter</c>, replicas <c>model|adapter#N</c>) and model
/// endpoints (<c>kind|base URL|model|adapter</c>). Callers get
/// grains through the <see cref="IGrainFactory"/> extensions here rather than writing keys themselves.
/// </summary>
public static class GrainKeys
{
    /// <summary>The key of the cluster's single run index, adapter registry and residency directory.</summary>
    public const string Singleton = "all";

    /// <summary>The key of shard <paramref name="shardNo"/> of a run.</summary>
    public static string Shard(string runId, int shardNo) => $"{runId}/{shardNo}";

    /// <summary>The key of a registered LoRA adapter: <c>model:name</c>, as the gateway names it.</summary>
    public static string LoraAdapter(string model, string name) => $"{model}:{name}";

    /// <summary>The model and name of a registered adapter's key (a model path may hold colons; a name does not).</summary>
    public static (string Model, string Name) ParseLoraAdapter(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var colon = key.LastIndexOf(':');
        return (key[..colon], key[(colon + 1)..]);
    }

    /// <summary>
    /// The key of a model endpoint: its identity, kind, base URL (without a trailing slash), model and adapter, not its
    /// name, so that every config and run that asks the same endpoint shares its limits, circuit and price.
    /// </summary>
    public static string ModelEndpoint(EndpointConfig endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        return $"{ConfigNames.Of(endpoint.Type)}|{endpoint.BaseUrl?.TrimEnd('/')}|{endpoint.Model}|{endpoint.Adapter}";
    }

    /// <summary>The run grain.</summary>
    public static IEvalRunGrain GetRun(this IGrainFactory grains, string runId) => grains.GetGrain<IEvalRunGrain>(runId);

    /// <summary>The reader of a run's results.</summary>
    public static IRunResultsGrain GetRunResults(this IGrainFactory grains, string runId) => grains.GetGrain<IRunResultsGrain>(runId);

    /// <summary>A shard grain of a run.</summary>
    public static IEvalShardGrain GetShard(this IGrainFactory grains, string runId, int shardNo) => grains.GetGrain<IEvalShardGrain>(Shard(runId, shardNo));

    /// <summary>The run index.</summary>
    public static IRunIndexGrain GetRunIndex(this IGrainFactory grains) => grains.GetGrain<IRunIndexGrain>(Singleton);

    /// <summary>The residency directory.</summary>
    public static IAdapterDirectoryGrain GetAdapterDirectory(this IGrainFactory grains) => grains.GetGrain<IAdapterDirectoryGrain>(Singleton);

    /// <summary>The adapter registry.</summary>
    public static IAdapterRegistryGrain GetAdapterRegistry(this IGrainFactory grains) => grains.GetGrain<IAdapterRegistryGrain>(Singleton);

    /// <summary>A registered adapter, by the key of <see cref="LoraAdapter"/>.</summary>
    public static ILoraAdapterGrain GetLoraAdapter(this IGrainFactory grains, string model, string name) => grains.GetGrain<ILoraAdapterGrain>(LoraAdapter(model, name));

    /// <summary>An adapter host, by its <see cref="AdapterKey"/> (a replica's included).</summary>
    public static IAdapterHostGrain GetAdapterHost(this IGrainFactory grains, string hostKey) => grains.GetGrain<IAdapterHostGrain>(hostKey);

    /// <summary>A training job.</summary>
    public static ITrainingGrain GetTraining(this IGrainFactory grains, string jobId) => grains.GetGrain<ITrainingGrain>(jobId);

    /// <summary>A model endpoint, by its identity (see <see cref="ModelEndpoint"/>).</summary>
    public static IModelEndpointGrain GetModelEndpoint(this IGrainFactory grains, EndpointConfig endpoint) => grains.GetGrain<IModelEndpointGrain>(ModelEndpoint(endpoint));

    /// <summary>A silo's agent, by the silo's address.</summary>
    public static ISiloAgentGrain GetSiloAgent(this IGrainFactory grains, string silo) => grains.GetGrain<ISiloAgentGrain>(silo);
}

/// <summary>
/// Adapter keys: <c>model|adapter</c> (adapter empty for the base alone) names an adapter on a base and its primary
/// adapter host; <c>model|adapter#N</c> names replica N ≥ 2 of that host.
/// </summary>
public static class AdapterKey
{
    /// <summary>The key for a base model and an adapter (null for none).</summary>
    public static string Of(string model, string? adapter) => $"{model}|{adapter}";

    /// <summary>The key for a gateway-style model name: <c>base</c> or <c>base:adapter</c>.</summary>
    public static string FromModelName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var colon = name.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? Of(name, null) : Of(name[..colon], name[(colon + 1)..]);
    }

    /// <summary>The model and adapter (null for none) of an adapter key.</summary>
    public static (string Model, string? Adapter) Parse(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var bar = key.IndexOf('|', StringComparison.Ordinal);
        return bar < 0 ? (key, null) : (key[..bar], key[(bar + 1)..] is { Length: > 0 } adapter ? adapter : null);
    }

    /// <summary>The host key of replica <paramref name="number"/> of an adapter.</summary>
    public static string Replica(string adapterKey, int number) => number <= 1 ? adapterKey : $"{adapterKey}#{number}";

    /// <summary>The adapter key of a host key (the replica suffix removed).</summary>
    public static string OfHost(string hostKey) => SplitHost(hostKey).AdapterKey;

    /// <summary>The replica number of a host key (1 for the primary).</summary>
    public static int ReplicaOf(string hostKey) => SplitHost(hostKey).Replica;

    private static (string AdapterKey, int Replica) SplitHost(string hostKey)
    {
        ArgumentNullException.ThrowIfNull(hostKey);
        var hash = hostKey.LastIndexOf('#');
        return hash > hostKey.LastIndexOf('|') && int.TryParse(hostKey.AsSpan(hash + 1), out var n) ? (hostKey[..hash], n) : (hostKey, 1);
    }
}
