using EvalMesh.Evaluation;
using EvalMesh.Evaluation.Configuration;
using EvalMesh.Inference.Hosting;
using Microsoft.Extensions.AI;

namespace EvalMesh.Inference.Endpoints;

/// <summary>Builds the chat client an <see cref="EndpointConfig"/> describes.</summary>
public sealed class EndpointFactory(ModelCatalog catalog, Func<ModelHost> host, HttpClient http)
{
    /// <summary>Builds the endpoint's client.</summary>
    /// <exception cref="EvalMeshInputException">A setting cannot be used, such as an API key variable that is not set.</exception>
    public IChatClient Create(EndpointConfig endpoint, IReadOnlyList<AdapterConfig> adapters)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(adapters);
        switch (endpoint.Type)
        {
            case "echo":
                return new EchoChatClient(endpoint.Name);
            case "llama":
                var (model, adapter) = catalog.ResolveEndpoint(endpoint, adapters);
                return new LlamaChatClient(host(), model, adapter);
            case "openai":
                string? key = null;
                if (endpoint.ApiKeyEnv is { } variable)
                {
                    key = Environment.GetEnvironmentVariable(variable)
                        ?? throw new EvalMeshInputException($"the environment variable {variable} that holds the API key is not set", setting: $"endpoints.{endpoint.Name}.api-key-env");
                }

                return new OpenAiChatClient(http, new OpenAiEndpointOptions(
                    endpoint.Name,
                    new Uri(endpoint.BaseUrl!),
                    endpoint.Model!,
                    key,
                    TimeSpan.FromSeconds(endpoint.TimeoutSeconds)));
            default:
                throw new UnknownNameException("endpoint type", endpoint.Type, ConfigLoader.EndpointTypes);
        }
    }
}
