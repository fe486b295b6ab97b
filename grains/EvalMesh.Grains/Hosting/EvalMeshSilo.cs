using System.Net.Sockets;
using System.Net;
using EvalMesh.Abstractions;
using EvalMesh.Client;
using EvalMesh.Evaluation.Tokenization;
using EvalMesh.Grains.Endpoints;
using EvalMesh.Grains.Hosting;
using EvalMesh.Grains.Routing;
using EvalMesh.Grains.Runs;
using EvalMesh.Grains.Storage;
using EvalMesh.Inference.Endpoints;
using EvalMesh.Inference.Llama;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Runtime.Hosting;
using Orleans.Serialization;
using Orleans.Storage;
using StackExchange.Redis;

namespace EvalMesh.Grains;

/// <summary>The silo's EvalMesh wiring: clustering, storage, the result store, the model host and the grains' services.</summary>
public static class EvalMeshSilo
{
    /// <summary>The grain storage provider every EvalMesh grain uses.</summary>
    public const string StorageName = "evalmesh";

    /// <summary>Adds EvalMesh to a silo: local (files, localhost clustering) or redis (Redis clustering, storage and results).</summary>
    public static ISiloBuilder AddEvalMesh(this ISiloBuilder silo, EvalMeshOptions options)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentNullException.ThrowIfNull(options);
        var validation = new EvalMeshOptionsValidator().Validate(null, options);
        if (validation.Failed)
        {
            throw new OptionsValidationException(EvalMeshOptions.Section, typeof(EvalMeshOptions), validation.Failures);
        }

        silo.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = options.ClusterId;
            o.ServiceId = options.ServiceId;
        });
        silo.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = options.ResponseTimeout);
        if (options.TlsCertificate is { } path)
        {
            var certificate = ClusterTls.Load(path, options.TlsCertificatePassword, "EvalMesh:TlsCertificate");
            silo.UseTls(certificate, tls => ClusterTls.Configure(tls, certificate));
        }

        var services = silo.Services;
        if (options.IsLocal)
        {
            silo.UseLocalhostClustering(options.SiloPort, options.GatewayPort, serviceId: options.ServiceId, clusterId: options.ClusterId);
            services.AddGrainStorage(StorageName, (sp, _) => new FileGrainStorage(options.DataDirectory, sp.GetRequiredService<Orleans.Serialization.Serializer>()));
            services.AddSingleton<IResultStore>(new FileResultStore(options.DataDirectory));
            services.AddSingleton<IDistributedCache>(sp => new FileResponseCache(options.DataDirectory, sp.GetRequiredService<TimeProvider>()));
        }
        else
        {
            var redis = ConfigurationOptions.Parse(options.Redis!);
            silo.ConfigureEndpoints(AdvertisedAddress(options), options.SiloPort, options.GatewayPort, listenOnAnyHostAddress: true);
            silo.UseRedisClustering(o => o.ConfigurationOptions = redis.Clone());
            // Grain state in Orleans' own binary format, as in the local file storage: the provider's default JSON
            // records runtime type names, and compiler-made collection types cannot be found again when a grain
            // reactivates on another silo.
            silo.AddRedisGrainStorage(StorageName, storage => storage.Configure<Serializer>((o, serializer) =>
            {
                o.ConfigurationOptions = redis.Clone();
                o.GrainStorageSerializer = new OrleansGrainStorageSerializer(serializer);
            }));
            services.AddSingleton<IConnectionMultiplexer>(_ => ConnectionMultiplexer.Connect(redis.Clone()));
            services.AddSingleton<IResultStore>(sp => new RedisResultStore(sp.GetRequiredService<IConnectionMultiplexer>(), options.ServiceId));
            services.AddSingleton<IDistributedCache>(sp => new RedisResponseCache(sp.GetRequiredService<IConnectionMultiplexer>(), options.ServiceId));
        }

        services.AddEvalMeshServices(options);
        return silo;
    }

    /// <summary>
    /// The services EvalMesh's grains use, without clustering, grain storage, the result store or the response cache
    /// (which <see cref="AddEvalMesh"/> chooses, and tests replace).
    /// </summary>
    public static IServiceCollection AddEvalMeshServices(this IServiceCollection services, EvalMeshOptions options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        services.AddEvalMeshSerialization();
        services.AddSingleton(options);
        services.TryAddSingleton(TimeProvider.System);
        services.AddHttpClient("evalmesh-endpoints", http => http.Timeout = Timeout.InfiniteTimeSpan);
        services.AddOptions<ModelHostOptions>().BindConfiguration(ModelHostOptions.Section)
            .Configure<ILocalSiloDetails>((host, silo) => host.Name = silo.SiloAddress.ToString()) // replies name the silo that served them
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<ModelHostOptions>, ModelHostOptionsValidator>();
        services.AddSingleton<ModelHost>();
        services.AddSingleton(_ =>
        {
            var catalog = new ModelCatalog(options.ModelCache, options.ModelRoots);
            foreach (var (name, path) in options.Models)
            {
                catalog.RegisterModel(name, path);
            }

            return catalog;
        });
        services.AddSingleton(TokenizerRegistry.Shared);
        services.AddSingleton<IModelContexts, ModelContexts>();
        services.AddOptions<AdapterAffinityPlacementOptions>().BindConfiguration(AdapterAffinityPlacementOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AdapterAffinityPlacementOptions>, AdapterAffinityPlacementOptionsValidator>();
        services.AddPlacementDirector<AdapterAffinityPlacement, AdapterAffinityPlacementDirector>();
        services.AddPlacementDirector<SiloBoundPlacement, SiloBoundPlacementDirector>();
        services.AddSingleton<ResidencyView>();
        services.AddSingleton<AdapterFiles>();
        services.AddSingleton(sp => new AdapterRouter(sp.GetRequiredService<IGrainFactory>(), sp.GetRequiredService<TimeProvider>()));
        services.AddHostedService<ResidencyReporter>();
        services.AddSingleton<RunInputs>();
        services.AddSingleton<EndpointClients>();
        services.AddSingleton(sp => new ShardServices(
            sp.GetRequiredService<IGrainFactory>(),
            sp.GetRequiredService<IResultStore>(),
            sp.GetRequiredService<RunInputs>(),
            sp.GetRequiredService<EndpointClients>(),
            sp.GetRequiredService<TokenizerRegistry>(),
            sp.GetRequiredService<IModelContexts>(),
            sp.GetRequiredService<ILocalSiloDetails>().SiloAddress.ToString(),
            sp.GetRequiredService<ILogger<ShardRunner>>()));
        return services;
    }

    private static IPAddress AdvertisedAddress(EvalMeshOptions options)
    {
        if (options.AdvertisedAddress is { Length: > 0 } configured)
        {
            return IPAddress.TryParse(configured, out var address)
                ? address
                : Dns.GetHostAddresses(configured).First(a => a.AddressFamily == AddressFamily.InterNetwork);
        }

        return Dns.GetHostAddresses(Dns.GetHostName()).FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))
            ?? IPAddress.Loopback;
    }
}
