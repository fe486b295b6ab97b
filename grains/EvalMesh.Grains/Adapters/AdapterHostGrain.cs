using System.Runtime.CompilerServices;
using EvalMesh.Abstractions;
using EvalMesh.Client;
using EvalMesh.Grains.Routing;
using EvalMesh.Inference.Endpoints;
using EvalMesh.Inference.Llama;
using Orleans.Concurrency;

namespace EvalMesh.Grains.Adapters;

/// <summary>
/// The one way local llama inference is reached (key <c>model|adapter</c>, replicas <c>model|adapter#N</c>). It
/// activates where its adapter is resident (<see cref="AdapterAffinityPlacement"/>), so requests for an adapter meet in
/// one silo's model host, which batches them. Reentrant, so that concurrent calls reach the host together.
/// The primary also follows its adapter: if the adapter was evicted here but is resident on another silo, requests go
/// there; if it is resident nowhere, they go wherever loading it evicts the least used adapter cluster-wide. The
/// cluster's slots then behave like one frequency-aware cache instead of one cache per silo. When the directory gives
/// a hot adapter replicas, the primary sends each request to the replica with the fewest in flight; replicas serve
/// locally.
/// </summary>
[Reentrant]
[AdapterAffinityPlacement]
public sealed class AdapterHostGrain(
    ModelHost host,
    AdapterFiles adapterFiles,
    ResidencyView view,
    AdapterRouter router,
    ILocalSiloDetails silo,
    IGrainFactory grains) : Grain, IAdapterHostGrain
{
    private readonly Dictionary<int, int> _inFlight = [];
    private string _hostKey = string.Empty;
    private string _adapterKey = string.Empty;
    private ModelFiles _files = null!;

    /// <inheritdoc />
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _hostKey = this.GetPrimaryKeyString();
        _adapterKey = AdapterKey.OfHost(_hostKey);
        _files = await adapterFiles.ResolveAsync(_adapterKey);
        adapterFiles.HostActivated(_hostKey);
    }

    /// <inheritdoc />
    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        adapterFiles.HostDeactivated(_hostKey);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<InferenceChunk> InferAsync(InferenceRequest request, bool stream, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var replica = ChooseReplica();
        _inFlight[replica] = _inFlight.GetValueOrDefault(replica) + 1;
        try
        {
            var chunks = await RouteAsync(replica) switch
            {
                { Replica: { } key } => router.InferAsync(key, request, stream, cancellationToken),
                { Silo: { } target } => grains.GetSiloAgent(target).InferAsync(_adapterKey, request, stream, cancellationToken),
                _ => host.InferAsync(_files, request, stream, cancellationToken),
            };
            await foreach (var chunk in chunks.WithCancellation(cancellationToken))
            {
                yield return chunk;
            }
        }
        finally
        {
            _inFlight[replica]--;
        }
    }

    /// <inheritdoc />
    public async Task<bool> PrefetchAsync() =>
        _files.Adapter is null || (await ElsewhereAsync() is { } target
            ? await grains.GetSiloAgent(target).PrefetchAsync(_adapterKey)
            : await host.PrefetchAsync(_files));

    /// <summary>
    /// Where a request goes: to replica <paramref name="replica"/>'s host when that is not this one; else to another
    /// silo where the adapter is resident, or where the directory plans to load it (see
    /// <see cref="AdapterPlacementPolicy.ServeAt"/>); else (both null) it is served here.
    /// </summary>
    private async Task<(string? Replica, string? Silo)> RouteAsync(int replica) =>
        replica != 1 ? (AdapterKey.Replica(_adapterKey, replica), null) : (null, await ElsewhereAsync());

    /// <summary>
    /// The silo to send a request to instead of serving it here, or null to serve it here: where the adapter is
    /// resident, else where the directory plans to load it.
    /// </summary>
    private async Task<string?> ElsewhereAsync()
    {
        if (_files.Adapter is null || AdapterKey.ReplicaOf(_hostKey) != 1 || host.Residency.IsResident(_files))
        {
            return null;
        }

        var here = silo.SiloAddress.ToParsableString();
        var target = view.Snapshot.HolderOf(_adapterKey) ?? await grains.GetAdapterDirectory().PlanLoadAsync(_adapterKey, here);
        return target == here ? null : target;
    }

    // Only the primary spreads work: to itself (1) or to replicas 2..N, whichever has the fewest requests in flight.
    private int ChooseReplica()
    {
        var replicas = AdapterKey.ReplicaOf(_hostKey) == 1 ? view.Snapshot.ReplicasOf(_adapterKey) : 1;
        return Enumerable.Range(1, replicas).OrderBy(r => _inFlight.GetValueOrDefault(r)).ThenBy(r => r).First();
    }
}
