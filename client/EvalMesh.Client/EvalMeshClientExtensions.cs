using EvalMesh.Abstractions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using StackExchange.Redis;

namespace EvalMesh.Client;

/// <summary>Registers <see cref="IEvalMeshClient"/>.</summary>
public static class EvalMeshClientExtensions
{
    /// <summary>
    /// Connects this host to an EvalMesh cluster as an Orleans client and registers <see cref="IEvalMeshClient"/>.
    /// </summary>
    public static IHostApplicationBuilder AddEvalMeshClient(this IHostApplicationBuilder builder, Action<EvalMeshClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new EvalMeshClientOptions();
        configure(options);
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = options.ClusterId;
                o.ServiceId = options.ServiceId;
            });
            if (string.Equals(options.Cluster, "redis", StringComparison.OrdinalIgnoreCase))
            {
                var redis = ConfigurationOptions.Parse(options.Redis ?? throw new ArgumentException("EvalMesh:Client:Redis is required with the redis cluster", nameof(configure)));
                client.UseRedisClustering(o => o.ConfigurationOptions = redis);
            }
            else
            {
                client.UseLocalhostClustering(options.GatewayPort, options.ServiceId, options.ClusterId);
            }

            if (options.TlsCertificate is { } path)
            {
                var certificate = ClusterTls.Load(path, options.TlsCertificatePassword, "EvalMesh:Client:TlsCertificate");
                client.UseTls(certificate, tls => ClusterTls.Configure(tls, certificate));
            }

            // A cluster that cannot be reached (or refuses this client's certificate) is an error within seconds,
            // not an endless wait.
            var connecting = System.Diagnostics.Stopwatch.StartNew();
            client.UseConnectionRetryFilter(async (_, cancellationToken) =>
            {
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
                return connecting.Elapsed < options.ConnectTimeout;
            });
            client.Services.AddEvalMeshSerialization();
        });
        builder.Services.AddEvalMeshClient();
        return builder;
    }

    /// <summary>
    /// Registers <see cref="IEvalMeshClient"/> and <see cref="IRunInputStore"/> over the <see cref="IGrainFactory"/>
    /// already in the container: a silo's own (co-hosted) or an Orleans client's.
    /// </summary>
    public static IServiceCollection AddEvalMeshClient(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton<IEvalMeshClient, EvalMeshClient>();
        services.AddSingleton<IRunInputStore, GrainRunInputStore>();
        return services;
    }
}
