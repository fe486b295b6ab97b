using EvalMesh.Abstractions;
using EvalMesh.Evaluation;
using EvalMesh.Inference.Endpoints;
using EvalMesh.Inference.Gguf;

namespace EvalMesh.Grains.Adapters;

/// <summary>Persisted state of a registered adapter.</summary>
[GenerateSerializer, Alias("evalmesh.lora-adapter-state")]
public sealed class LoraAdapterState
{
    /// <summary>The registration, once registered.</summary>
    [Id(0)] public AdapterRegistration? Registration { get; set; }
}

/// <summary>A registered LoRA adapter (key <c>model:name</c>), validated against its base model when registered.</summary>
public sealed class LoraAdapterGrain(
    [PersistentState("adapter", EvalMeshSilo.StorageName)] IPersistentState<LoraAdapterState> state,
    ModelCatalog catalog,
    IGrainFactory grains) : Grain, ILoraAdapterGrain
{
    /// <inheritdoc />
    public async Task<AdapterRegistration> RegisterAsync(string path)
    {
        var (model, name) = GrainKeys.ParseLoraAdapter(this.GetPrimaryKeyString());
        string full;
        AdapterFileInfo info;
        try
        {
            full = catalog.Allowed(path);
            info = GgufValidator.ValidateAdapter(full, GgufValidator.ValidateModel(catalog.ResolveModel(model)));
        }
        catch (Exception ex) when (ex is GgufException or EvalMeshInputException)
        {
            // Validation errors cross the grain boundary as one serializable type that keeps the message.
            throw new AdapterRejectedException(ex.Message);
        }

        var registration = new AdapterRegistration(model, name, full, info.Rank, info.Alpha, info.Length);
        state.State.Registration = registration;
        await state.WriteStateAsync();
        await grains.GetAdapterRegistry().UpsertAsync(registration);
        return registration;
    }

    /// <inheritdoc />
    public Task<AdapterRegistration?> GetAsync() => Task.FromResult(state.State.Registration);
}
