using EvalMesh.Abstractions;
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
        (keys.FilesOf(adapterKey) ?? Resolve(adapterKey)) is { Adapter: { } adapter } files ? host.PrefetchAsync(files.Model, adapter) : Task.FromResult(true);

    /// <inheritdoc />
    public async Task<InferenceReply> InferAsync(string adapterKey, InferenceCall request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (model, adapter) = keys.FilesOf(adapterKey) ?? Resolve(adapterKey);
        var result = await host.InferAsync(new InferenceRequest(model, adapter, request.Prompt, new GenerationOptions(request.MaxTokens, request.Temperature, request.Seed, request.Stop), request.PrefixLength));
        return new InferenceReply(result.Text, result.PromptTokens, result.CompletionTokens, result.FinishReason, silo.SiloAddress.ToString(), result.AdapterWasResident, result.PrefixReused);
    }

    private (string Model, string? Adapter) Resolve(string adapterKey)
    {
        var (model, adapter) = AdapterHostKey.Parse(adapterKey);
        var files = (catalog.ResolveModel(model), catalog.ResolveAdapter(model, adapter));
        keys.Register(adapterKey, files.Item1, files.Item2);
        return files;
    }
}
