using EvalMesh.Abstractions;
using EvalMesh.Inference.Hosting;

namespace EvalMesh.Grains.Routing;

/// <summary>This silo's agent: evicts adapters from this silo's model host on request.</summary>
[SiloBoundPlacement]
public sealed class SiloAgentGrain(ModelHost host, AdapterKeys keys) : Grain, ISiloAgentGrain
{
    /// <inheritdoc />
    public async Task<bool> EvictAsync(string adapterKey) =>
        keys.FilesOf(adapterKey) is { Adapter: { } adapter } files && await host.EvictAsync(files.Model, adapter);
}
