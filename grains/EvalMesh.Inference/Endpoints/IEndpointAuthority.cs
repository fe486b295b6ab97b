using EvalMesh.Abstractions;

namespace EvalMesh.Inference.Endpoints;

/// <summary>
/// Where an <see cref="EndpointGovernor"/> renews its lease: the endpoint's grain in a cluster
/// (<c>IModelEndpointGrain</c>), or <see cref="LocalEndpointAuthority"/> for a client on its own.
/// </summary>
public interface IEndpointAuthority
{
    /// <summary>Renews a lease (see <see cref="IModelEndpointGrain.LeaseAsync"/>).</summary>
    Task<LeaseGrant> LeaseAsync(LeaseRequest request, CancellationToken cancellationToken = default);
}

/// <summary>An authority of one process's own, for a client outside a cluster: an <see cref="EndpointLedger"/> in memory.</summary>
public sealed class LocalEndpointAuthority(TimeProvider? time = null) : IEndpointAuthority
{
    private readonly EndpointLedger _ledger = new();
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <inheritdoc />
    public Task<LeaseGrant> LeaseAsync(LeaseRequest request, CancellationToken cancellationToken = default)
    {
        lock (_ledger)
        {
            return Task.FromResult(_ledger.Lease(request, _time.GetUtcNow()));
        }
    }
}
