using System.Collections.Concurrent;
using EvalMesh.Abstractions;
using EvalMesh.Client;
using EvalMesh.Contracts;
using EvalMesh.Evaluation;
using EvalMesh.Evaluation.Configuration;
using EvalMesh.Inference.Endpoints;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Logging;

namespace EvalMesh.Grains.Endpoints;

/// <summary>
/// The chat client of each endpoint on this silo: echo and OpenAI-compatible endpoints are called directly (one client
/// per endpoint, shared), llama endpoints through their <see cref="IAdapterHostGrain"/>. An OpenAI-compatible
/// endpoint's attempts go through this silo's one <see cref="EndpointGovernor"/> for its identity, which leases its
/// share of the endpoint's limits and its circuit from the endpoint's <see cref="IModelEndpointGrain"/>. Its answers
/// are cached cluster-wide (see <see cref="EndpointConfig.Cache"/>), keyed by the URL, the model, the messages and the
/// generation settings, never the API key.
/// </summary>
public sealed class EndpointClients(AdapterRouter router, IHttpClientFactory http, IDistributedCache cache, IGrainFactory grains, ILocalSiloDetails silo, TimeProvider time, ILoggerFactory logging)
{
    private readonly ConcurrentDictionary<EndpointConfig, IChatClient> _clients = new();
    private readonly ConcurrentDictionary<string, EndpointGovernor> _governors = new(StringComparer.Ordinal);

    /// <summary>The client for an endpoint.</summary>
    public IChatClient Get(EndpointConfig endpoint, IReadOnlyList<AdapterConfig> adapters)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(adapters);
        return _clients.GetOrAdd(endpoint, e => e.Type switch
        {
            EndpointType.Echo => new EchoChatClient(e.Name),
            EndpointType.Llama => new AdapterHostChatClient(router, LlamaKey(e, adapters), e.ChatTemplate, time),
            EndpointType.OpenAi => Cached(e, OpenAi(e)),
            _ => throw new ArgumentOutOfRangeException(nameof(endpoint), e.Type, "unknown endpoint type"),
        });
    }

    private OpenAiChatClient OpenAi(EndpointConfig endpoint)
    {
        var options = new OpenAiEndpointOptions(
            endpoint.Name,
            new Uri(endpoint.BaseUrl!),
            endpoint.Model!,
            endpoint.ApiKeyEnv is { } variable ? Environment.GetEnvironmentVariable(variable) ?? throw new EvalMeshInputException($"the environment variable {variable} that holds the API key is not set on this silo", setting: $"endpoints.{endpoint.Name}.api-key-env") : null,
            TimeSpan.FromSeconds(endpoint.TimeoutSeconds),
            MaxConcurrency: endpoint.MaxConcurrency,
            RateLimit: endpoint.RateLimit,
            Price: endpoint.Cost);

        // One governor per endpoint identity on this silo, however many configs name it: the latest settings count.
        var key = GrainKeys.ModelEndpoint(endpoint);
        var governor = _governors.GetOrAdd(key, _ => new EndpointGovernor(
            silo.SiloAddress.ToParsableString(),
            new GrainEndpointAuthority(grains.GetModelEndpoint(endpoint)),
            options,
            time,
            logging.CreateLogger<EndpointGovernor>()));
        governor.Configure(options);
        return new OpenAiChatClient(http.CreateClient("evalmesh-endpoints"), options, time, governor);
    }

    private IChatClient Cached(EndpointConfig endpoint, IChatClient client) =>
        endpoint.Cache ? new CachedEndpointClient(client, cache) { CacheKeyAdditionalValues = [endpoint.BaseUrl!, endpoint.Model!] } : client;

    /// <summary>The adapter-host grain key of a llama endpoint: model and adapter names, resolved on the silo that serves them.</summary>
    public static string LlamaKey(EndpointConfig endpoint, IReadOnlyList<AdapterConfig> adapters)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(adapters);
        var model = endpoint.Model ?? BuiltInModels.Tiny;
        var named = adapters.FirstOrDefault(a => a.Name == endpoint.Adapter);
        return AdapterKey.Of(model, named?.Path ?? endpoint.Adapter);
    }

    // The endpoint's grain, as a governor's authority.
    private sealed class GrainEndpointAuthority(IModelEndpointGrain grain) : IEndpointAuthority
    {
        public Task<LeaseGrant> LeaseAsync(LeaseRequest request, CancellationToken cancellationToken = default) => grain.LeaseAsync(request).WaitAsync(cancellationToken);
    }
}
