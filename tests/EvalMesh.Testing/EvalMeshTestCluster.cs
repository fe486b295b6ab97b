using Microsoft.Extensions.Caching.Distributed;
using EvalMesh.Abstractions;
using EvalMesh.Client;
using EvalMesh.Grains;
using EvalMesh.Grains.Hosting;
using EvalMesh.Grains.Storage;
using EvalMesh.Inference.Tiny;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace EvalMesh.Testing;

/// <summary>
/// An in-process cluster with EvalMesh's grains and services, file-backed grain state and one result store
/// shared by all silos, and the generated tiny model with two adapters.
/// </summary>
public class EvalMeshTestCluster(int silos, int adapters, Action<IServiceCollection>? configure) : IAsyncDisposable
{
    public string Folder { get; } = Directory.CreateTempSubdirectory("evalmesh-cluster-").FullName;

    public InProcessTestCluster Cluster { get; private set; } = null!;

    public IEvalMeshClient Client { get; private set; } = null!;

    public TinyModelFiles Tiny { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Tiny = TinyModel.Write(Path.Combine(Folder, "tiny"), adapters: adapters);
        var options = new EvalMeshOptions { DataDirectory = Folder, ModelCache = Path.Combine(Folder, "tiny") };
        var store = new FileResultStore(Folder);
        var builder = new InProcessTestClusterBuilder((short)silos);

        // Orleans would write each silo's log into ./logs of whatever folder the tests or benchmarks run from.
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSilo((_, silo) =>
        {
            silo.Services.AddEvalMeshServices(options);
            silo.Services.AddSingleton<IResultStore>(store);
            silo.Services.AddSingleton<IDistributedCache>(new FileResponseCache(Folder, TimeProvider.System));
            Orleans.Runtime.Hosting.StorageProviderExtensions.AddGrainStorage(silo.Services, EvalMeshSilo.StorageName, (sp, _) => new FileGrainStorage(Folder, sp.GetRequiredService<Orleans.Serialization.Serializer>()));
            configure?.Invoke(silo.Services);
        });
        builder.ConfigureClient(client => client.Services.AddEvalMeshSerialization());
        Cluster = builder.Build();
        await Cluster.DeployAsync();
        Client = new ServiceCollection().AddSingleton<IGrainFactory>(Cluster.Client).AddEvalMeshClient().BuildServiceProvider().GetRequiredService<IEvalMeshClient>();
    }

    public async ValueTask DisposeAsync()
    {
        await Cluster.DisposeAsync();
        Directory.Delete(Folder, recursive: true);
        GC.SuppressFinalize(this);
    }
}
