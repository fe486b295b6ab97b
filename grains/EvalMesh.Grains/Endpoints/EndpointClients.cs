using System.Collections.Concurrent;
using EvalMesh.Abstractions;
using EvalMesh.Client;
using EvalMesh.Contracts;
using EvalMesh.Evaluation;
using EvalMesh.Evaluation.Configuration;
using EvalMesh.Inference.Endpoints;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Caching.Distributed;

namespace EvalMesh.Grains.Endpoints;

/// <summary>
/// The chat client of each endpoint on this silo: echo and OpenAI-compatible endpoints are called directly (one client
/// per endpoint, shared), llama endpoints through their <see cref="IAdapterHostGrain"/>. OpenAI-compatible answers are
/// cached cluster-wide (see <see cref="EndpointConfig.Cache"/>), keyed by the URL, the model, the messages and the
/// generation settings, never the API key.
/// </summary>
public sealed class EndpointClients(AdapterRouter router, IHttpClientFactory http, IDistributedCache cache, TimeProvider time)
{
    private readonly ConcurrentDictionary<EndpointConfig, IChatClient> _clients = new();

    /// <summary>The client for an endpoint.</summary>
    public IChatClient Get(EndpointConfig endpoint, IReadOnlyList<AdapterConfig> adapters)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(adapters);
        return _clients.GetOrAdd(endpoint, e => e.Type switch
        {
            EndpointType.Echo => new EchoChatClient(e.Name),
            EndpointType.Llama => new AdapterHostChatClient(router, LlamaKey(e, adapters), e.ChatTemplate, time),
            EndpointType.OpenAi => Cached(e, new OpenAiChatClient(http.CreateClient("evalmesh-endpoints"), new OpenAiEndpointOptions(
                e.Name,
                new Uri(e.BaseUrl!),
                e.Model!,
                e.ApiKeyEnv is { } variable ? Environment.GetEnvironmentVariable(variable) ?? throw new EvalMeshInputException($"the environment variable {variable} that holds the API key is not set on this silo", setting: $"endpoints.{e.Name}.api-key-env") : null,
                TimeSpan.FromSeconds(e.TimeoutSeconds),
                MaxConcurrency: e.MaxConcurrency), time)),
            _ => throw new ArgumentOutOfRangeException(nameof(endpoint), e.Type, "unknown endpoint type"),
        });
    }

    private IChatClient Cached(EndpointConfig endpoint, IChatClient client) =>
        endpoint.Cache ? new CachedEndpointClient(client, cache) { CacheKeyAdditionalValues = [endpoint.BaseUrl!, endpoint.Model!] } : client;

    /// <summary>The adapter-host grain key of a llama endpoint: model and adapter names, resolved on the silo that serves them.</summary>
    public static string LlamaKey(EndpointConfig endpoint, IReadOnlyList<AdapterConfig> adapters)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(adapters);
        var model = endpoint.Model ?? ModelCatalog.Tiny;
        var named = adapters.FirstOrDefault(a => a.Name == endpoint.Adapter);
        return AdapterKey.Of(model, named?.Path ?? endpoint.Adapter);
    }
}
