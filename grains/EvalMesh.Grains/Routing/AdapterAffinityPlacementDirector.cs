using EvalMesh.Abstractions;
using EvalMesh.Client;
using Microsoft.Extensions.Logging;
using Orleans.Runtime.Placement;

namespace EvalMesh.Grains.Routing;

/// <summary>
/// Runs on whichever silo receives the first call to an adapter host. It follows, in order: the home the caller got
/// from the directory (passed in the request context), the home in this silo's view of the directory, or the same
/// policy the directory uses, applied to that view.
/// </summary>
internal sealed partial class AdapterAffinityPlacementDirector(ResidencyView view, ILogger<AdapterAffinityPlacementDirector> logger) : IPlacementDirector
{
    private readonly Random _random = new();

    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var candidates = context.GetCompatibleSilos(target);
        var hostKey = target.GrainIdentity.Key.ToString()!;
        var byName = candidates.ToDictionary(c => c.ToParsableString(), StringComparer.Ordinal);
        var snapshot = view.Snapshot;
        PlacementDecision decision;
        if (target.RequestContextData?.GetValueOrDefault(AdapterRouter.HomeHint) is string hinted && byName.ContainsKey(hinted))
        {
            decision = new PlacementDecision(hinted, "home");
        }
        else if (snapshot.Homes.TryGetValue(hostKey, out var home) && byName.ContainsKey(home))
        {
            decision = new PlacementDecision(home, "home");
        }
        else
        {
            lock (_random)
            {
                decision = AdapterPlacementPolicy.Choose(snapshot, hostKey, [.. byName.Keys], _random);
            }
        }

        RoutingMetrics.Activated(decision.Reason);
        LogPlaced(hostKey, decision.Silo, decision.Reason);
        return Task.FromResult(byName[decision.Silo]);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Adapter host {HostKey} activates on {Silo}: {Reason}")]
    private partial void LogPlaced(string hostKey, string silo, string reason);
}

/// <summary>Places a silo agent on the silo its key names.</summary>
internal sealed class SiloBoundPlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var wanted = target.GrainIdentity.Key.ToString();
        var silo = context.GetCompatibleSilos(target).FirstOrDefault(s => s.ToParsableString() == wanted)
            ?? throw new SiloUnavailableException($"silo {wanted} is not in the cluster");
        return Task.FromResult(silo);
    }
}
