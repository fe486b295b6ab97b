using EvalMesh.Abstractions;
using EvalMesh.Inference.Endpoints;
using Microsoft.Extensions.Logging;

namespace EvalMesh.Grains.Endpoints;

/// <summary>What a model endpoint's grain keeps across activations: who may hold a lease.</summary>
[GenerateSerializer, Alias("evalmesh.model-endpoint-state")]
public sealed class ModelEndpointState
{
    /// <summary>The silos granted a lease and not yet known to have let it go: after a move, they may still hold shares.</summary>
    [Id(0)] public List<string> Holders { get; set; } = [];
}

/// <summary>
/// An OpenAI-compatible endpoint, cluster-wide (see <see cref="IModelEndpointGrain"/>): its books are an
/// <see cref="EndpointLedger"/>. The holders are stored before a new one gets its first share, so that an activation
/// that takes over after its silo died knows whom to wait for (<see cref="EndpointLedger.Recover"/>) rather than grant
/// what they may still hold. A holder whose silo membership declares dead is forgotten at once; its silo's requests
/// died with it. The silo holding the grain exports the endpoint's cluster-wide metrics.
/// </summary>
public sealed partial class ModelEndpointGrain(
    [PersistentState("endpoint", EvalMeshSilo.StorageName)] IPersistentState<ModelEndpointState> state,
    IClusterMembershipService membership,
    TimeProvider time,
    ILogger<ModelEndpointGrain> logger) : Grain, IModelEndpointGrain
{
    private static readonly TimeSpan ExportEvery = TimeSpan.FromSeconds(2);
    private readonly EndpointLedger _ledger = new();
    private string? _name;

    /// <inheritdoc />
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var members = membership.CurrentSnapshot.Members.Values.ToDictionary(m => m.SiloAddress.ToParsableString(), m => m.Status, StringComparer.Ordinal);
        var mayHold = state.State.Holders.Where(h => members.TryGetValue(h, out var status) && status != SiloStatus.Dead).ToList();
        if (mayHold.Count > 0)
        {
            _ledger.Recover(mayHold, time.GetUtcNow());
            var key = this.GetPrimaryKeyString();
            LogRecovering(key, mayHold.Count);
        }

        this.RegisterGrainTimer(ExportAsync, new GrainTimerCreationOptions { DueTime = ExportEvery, Period = ExportEvery });
        return base.OnActivateAsync(cancellationToken);
    }

    /// <inheritdoc />
    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_name is not null)
        {
            EndpointMetrics.ForgetCluster(_name);
        }

        return base.OnDeactivateAsync(reason, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<LeaseGrant> LeaseAsync(LeaseRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        _name ??= request.Endpoint;
        var now = time.GetUtcNow();
        ForgetTheDead();
        var circuit = _ledger.Circuit.StateAt(now);
        var grant = _ledger.Lease(request, now);
        if (grant.Circuit != circuit)
        {
            LogCircuit(_name, grant.Circuit, request.Holder);
        }

        await StoreHoldersAsync();
        EndpointMetrics.Cluster(_name, _ledger, now);
        return grant;
    }

    private Task ExportAsync(CancellationToken cancellationToken)
    {
        ForgetTheDead();
        var now = time.GetUtcNow();
        _ledger.Prune(now);
        if (_name is not null)
        {
            EndpointMetrics.Cluster(_name, _ledger, now);
        }

        return StoreHoldersAsync();
    }

    private void ForgetTheDead()
    {
        var members = membership.CurrentSnapshot.Members.Values;
        var name = _name ?? this.GetPrimaryKeyString();
        foreach (var holder in _ledger.Holders.Where(h => members.Any(m => m.Status == SiloStatus.Dead && m.SiloAddress.ToParsableString() == h)).ToList())
        {
            _ledger.Forget(holder);
            LogForgotten(name, holder);
        }
    }

    // A new holder is stored before its grant leaves; one that let go is dropped whenever the list is next written,
    // except while recovering: those not heard from yet may still hold shares.
    private async Task StoreHoldersAsync()
    {
        var holders = _ledger.IsRecovering(time.GetUtcNow()) ? _ledger.Holders.Union(state.State.Holders, StringComparer.Ordinal) : _ledger.Holders;
        var sorted = holders.Order(StringComparer.Ordinal).ToList();
        if (!sorted.SequenceEqual(state.State.Holders, StringComparer.Ordinal))
        {
            state.State.Holders = sorted;
            await state.WriteStateAsync();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Endpoint {Endpoint}: taking over from an activation that may have leased shares to {Holders} silo(s); none is granted more than it holds until each reports or its lease runs out")]
    private partial void LogRecovering(string endpoint, int holders);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Endpoint {Endpoint}: circuit {State} (reported by {Silo})")]
    private partial void LogCircuit(string endpoint, CircuitState state, string silo);

    [LoggerMessage(Level = LogLevel.Information, Message = "Endpoint {Endpoint}: silo {Silo} died; its lease is free")]
    private partial void LogForgotten(string endpoint, string silo);
}
