using EvalMesh.Abstractions;

namespace EvalMesh.Grains.Adapters;

/// <summary>Persisted state of the adapter registry.</summary>
[GenerateSerializer, Alias("evalmesh.adapter-registry-state")]
public sealed class AdapterRegistryState
{
    /// <summary>Registrations by <c>model:name</c>.</summary>
    [Id(0)] public Dictionary<string, AdapterRegistration> Adapters { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>Every registered adapter, for listing.</summary>
public sealed class AdapterRegistryGrain([PersistentState("adapters", EvalMeshSilo.StorageName)] IPersistentState<AdapterRegistryState> state) : Grain, IAdapterRegistryGrain
{
    /// <inheritdoc />
    public async Task UpsertAsync(AdapterRegistration registration)
    {
        ArgumentNullException.ThrowIfNull(registration);
        state.State.Adapters[GrainKeys.LoraAdapter(registration.Model, registration.Name)] = registration;
        await state.WriteStateAsync();
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<AdapterRegistration>> ListAsync() =>
        Task.FromResult<IReadOnlyList<AdapterRegistration>>([.. state.State.Adapters.Values.OrderBy(a => a.Model, StringComparer.Ordinal).ThenBy(a => a.Name, StringComparer.Ordinal)]);
}
