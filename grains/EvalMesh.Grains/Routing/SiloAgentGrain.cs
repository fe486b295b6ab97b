using EvalMesh.Abstractions;
using EvalMesh.Inference.Llama;
using Orleans.Concurrency;

namespace EvalMesh.Grains.Routing;

/// <summary>This silo's agent: evicts, prefetches and releases adapters in this silo's model host, and serves requests pinned to this silo.</summary>
[Reentrant]
[SiloBoundPlacement]
public sealed class SiloAgentGrain(ModelHost host, AdapterFiles adapterFiles) : Grain, ISiloAgentGrain
{
    /// <inheritdoc />
    public async Task<bool> EvictAsync(string adapterKey) =>
        adapterFiles.FilesOf(adapterKey) is { Adapter: not null } files && await host.EvictAsync(files);

    /// <inheritdoc />
    public Task ReleaseAsync(string adapterKey)
    {
        if (adapterFiles.FilesOf(adapterKey) is { Adapter: not null } files)
        {
            host.Release(files);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task<bool> PrefetchAsync(string adapterKey) =>
        await adapterFiles.FilesOrResolveAsync(adapterKey) is not { Adapter: not null } files || await host.PrefetchAsync(files);

    /// <inheritdoc />
    public async IAsyncEnumerable<InferenceChunk> InferAsync(string adapterKey, InferenceRequest request, bool stream, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var chunk in host.InferAsync(await adapterFiles.FilesOrResolveAsync(adapterKey), request, stream, cancellationToken))
        {
            yield return chunk;
        }
    }
}
