using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace EvalMesh.Client;

/// <summary>Registers the HTTP flavour of <see cref="IEvalMeshClient"/>.</summary>
public static class EvalMeshHttpClientExtensions
{
    /// <summary>
    /// Registers <see cref="IEvalMeshClient"/> over the REST API of the silo (or load balancer) at
    /// <paramref name="baseAddress"/>, for services outside the cluster: no Orleans connection, clustering store or
    /// silo ports, only HTTP(S) and an API key. It behaves as the Orleans flavour does; over HTTP, an inference reply
    /// has no token ids or margins, and log probabilities are not asked for.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="baseAddress">The silo's base address, such as <c>https://evalmesh.example.com/</c>.</param>
    /// <param name="apiKey">An API key with the scope the calls need (read; run to start runs and upload; admin for adapters), or null for a silo without keys.</param>
    /// <param name="configure">Further settings, such as timeouts.</param>
    public static IServiceCollection AddEvalMeshHttpClient(this IServiceCollection services, Uri baseAddress, string? apiKey = null, Action<EvalMeshHttpClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(baseAddress);
        if (!baseAddress.IsAbsoluteUri || baseAddress.Scheme is not ("http" or "https"))
        {
            throw new ArgumentException($"'{baseAddress}' is not an http(s) URL", nameof(baseAddress));
        }

        // Relative paths resolve below the base address's own path (a silo behind a prefix) only when it ends in '/'.
        var root = baseAddress.AbsoluteUri.EndsWith('/') ? baseAddress : new Uri(baseAddress.AbsoluteUri + "/");
        services.AddOptions<EvalMeshHttpClientOptions>().Configure(o =>
        {
            o.BaseAddress = root;
            o.ApiKey = apiKey;
            configure?.Invoke(o);
        });
        services.AddHttpClient(nameof(EvalMeshHttpClient), (provider, http) =>
            {
                var options = provider.GetRequiredService<IOptions<EvalMeshHttpClientOptions>>().Value;
                http.BaseAddress = options.BaseAddress;

                // Progress and results are streams that last as long as a run; other requests have their own timeout.
                http.Timeout = Timeout.InfiniteTimeSpan;
                if (options.ApiKey is { } key)
                {
                    http.DefaultRequestHeaders.Authorization = new("Bearer", key);
                }
            })
            .AddTypedClient<IEvalMeshClient>((http, provider) =>
                new EvalMeshHttpClient(http, provider.GetRequiredService<IOptions<EvalMeshHttpClientOptions>>().Value, provider.GetService<TimeProvider>() ?? TimeProvider.System));
        return services;
    }
}
