using EvalMesh.Abstractions;
using EvalMesh.Grains.Inference;
using EvalMesh.Inference.Endpoints;
using EvalMesh.Inference.Hosting;
using Orleans.Concurrency;

namespace EvalMesh.Grains.Routing;

/// <summary>This silo's agent: evicts, prefetches and releases adapters in this silo's model host, and serves requests pinned to this silo.</summary>
[Reentrant]
[SiloBoundPlacement]
public sealed class SiloAgentGrain(ModelHost host, ModelCatalog catalog, AdapterKeys keys, ILocalSiloDetails silo) : Grain, ISiloAgentGrain
{
    /// <inheritdoc />
    public async Task<bool> EvictAsync(string adapterKey) =>
        keys.FilesOf(adapterKey) is { Adapter: { } adapter } files && await host.EvictAsync(files.Model, adapter);

    /// <inheritdoc />
    public Task ReleaseAsync(string adapterKey)
    {
        if (keys.FilesOf(adapterKey) is { Adapter: { } adapter } files)
        {
            host.Release(files.Model, adapter);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<bool> PrefetchAsync(string adapterKey) =>
        FilesOf(adapterKey) is { Adapter: { } adapter } files ? host.PrefetchAsync(files.Model, adapter) : Task.FromResult(true);

    /// <inheritdoc />
    public Task<InferenceReply> InferAsync(string adapterKey, InferenceCall request)
    {
        var (model, adapter) = FilesOf(adapterKey);
        return host.InferAsync(model, adapter, request, silo.SiloAddress.ToString(), CancellationToken.None);
    }

    /// <inheritdoc />
    public IAsyncEnumerable<InferenceChunk> StreamAsync(string adapterKey, InferenceCall request, CancellationToken cancellationToken = default)
    {
        var (model, adapter) = FilesOf(adapterKey);
        return host.StreamAsync(model, adapter, request, silo.SiloAddress.ToString(), cancellationToken);
    }

    private (string Model, string? Adapter) FilesOf(string adapterKey) => keys.FilesOf(adapterKey) ?? Resolve(adapterKey);

    private (string Model, string? Adapter) Resolve(string adapterKey)
    {
        var (model, adapter) = AdapterKey.Parse(adapterKey);
        var files = (catalog.ResolveModel(model), catalog.ResolveAdapter(model, adapter));
        keys.Register(adapterKey, files.Item1, files.Item2);
        return files;
    }
}
