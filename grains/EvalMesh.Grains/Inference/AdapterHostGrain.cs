using EvalMesh.Abstractions;
using EvalMesh.Grains.Routing;
using EvalMesh.Inference.Endpoints;
using EvalMesh.Inference.Hosting;
using Orleans.Concurrency;

namespace EvalMesh.Grains.Inference;

/// <summary>
/// The one way local llama inference is reached (key <c>model|adapter</c>, replicas <c>model|adapter#N</c>). It
/// activates where its adapter is resident (<see cref="AdapterAffinityPlacement"/>), so requests for an adapter meet in
/// one silo's model host, which batches them. Reentrant, so that concurrent calls reach the host together. When the
/// directory gives a hot adapter replicas, the primary sends each request to the replica with the fewest in flight.
/// </summary>
[Reentrant]
[AdapterAffinityPlacement]
public sealed class AdapterHostGrain(
    ModelHost host,
    ModelCatalog catalog,
    AdapterKeys keys,
    ResidencyView view,
    AdapterRouter router,
    ILocalSiloDetails silo,
    IGrainFactory grains) : Grain, IAdapterHostGrain
{
    private readonly Dictionary<int, int> _inFlight = [];
    private string _hostKey = string.Empty;
    private string _adapterKey = string.Empty;
    private string _model = string.Empty;
    private string? _adapter;

    /// <inheritdoc />
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _hostKey = this.GetPrimaryKeyString();
        _adapterKey = ReplicaKey.AdapterOf(_hostKey);
        var (model, adapter) = AdapterHostKey.Parse(_adapterKey);
        _model = catalog.ResolveModel(model);
        if (adapter is not null)
        {
            var registered = await grains.GetGrain<ILoraAdapterGrain>($"{model}:{adapter}").GetAsync();
            _adapter = registered?.Path ?? catalog.ResolveAdapter(model, adapter);
        }

        keys.Register(_adapterKey, _model, _adapter);
        keys.HostActivated(_hostKey);
    }

    /// <inheritdoc />
    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        keys.HostDeactivated(_hostKey);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task<InferenceReply> InferAsync(InferenceCall request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var replica = ChooseReplica();
        _inFlight[replica] = _inFlight.GetValueOrDefault(replica) + 1;
        try
        {
            if (replica != 1)
            {
                return await router.InferAsync(ReplicaKey.Of(_adapterKey, replica), request, cancellationToken);
            }

            var result = await host.InferAsync(
                new InferenceRequest(_model, _adapter, request.Prompt, new GenerationOptions(request.MaxTokens, request.Temperature, request.Seed, request.Stop), request.PrefixLength),
                cancellationToken);
            return new InferenceReply(result.Text, result.PromptTokens, result.CompletionTokens, result.FinishReason, silo.SiloAddress.ToString(), result.AdapterWasResident, result.PrefixReused);
        }
        finally
        {
            _inFlight[replica]--;
        }
    }

    /// <inheritdoc />
    public Task<bool> PrefetchAsync() => _adapter is null ? Task.FromResult(true) : host.PrefetchAsync(_model, _adapter);

    // Only the primary spreads work: to itself (1) or to replicas 2..N, whichever has the fewest requests in flight.
    private int ChooseReplica()
    {
        var replicas = ReplicaKey.NumberOf(_hostKey) == 1 ? view.Snapshot.ReplicasOf(_adapterKey) : 1;
        return Enumerable.Range(1, replicas).OrderBy(r => _inFlight.GetValueOrDefault(r)).ThenBy(r => r).First();
    }
}
