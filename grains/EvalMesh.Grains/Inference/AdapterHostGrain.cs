using EvalMesh.Abstractions;
using EvalMesh.Inference.Endpoints;
using EvalMesh.Inference.Hosting;
using Orleans.Concurrency;

namespace EvalMesh.Grains.Inference;

/// <summary>
/// The one way local llama inference is reached (key <c>model|adapter</c>): requests for a base and adapter meet in
/// this activation, on one silo, whose model host batches them and keeps the adapter resident. Reentrant, so that
/// concurrent calls reach the host together and can be batched.
/// </summary>
[Reentrant]
public sealed class AdapterHostGrain(ModelHost host, ModelCatalog catalog, ILocalSiloDetails silo, IGrainFactory grains) : Grain, IAdapterHostGrain
{
    private string _model = string.Empty;
    private string? _adapter;

    /// <inheritdoc />
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var (model, adapter) = AdapterHostKey.Parse(this.GetPrimaryKeyString());
        _model = catalog.ResolveModel(model);
        if (adapter is not null)
        {
            var registered = await grains.GetGrain<ILoraAdapterGrain>($"{model}:{adapter}").GetAsync();
            _adapter = registered?.Path ?? catalog.ResolveAdapter(model, adapter);
        }
    }

    /// <inheritdoc />
    public async Task<InferenceReply> InferAsync(InferenceCall request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var result = await host.InferAsync(
            new InferenceRequest(_model, _adapter, request.Prompt, new GenerationOptions(request.MaxTokens, request.Temperature, request.Seed, request.Stop), request.PrefixLength),
            cancellationToken);
        return new InferenceReply(result.Text, result.PromptTokens, result.CompletionTokens, result.FinishReason, silo.SiloAddress.ToString(), result.AdapterWasResident, result.PrefixReused);
    }
}
