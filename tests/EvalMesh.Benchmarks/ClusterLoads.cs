using EvalMesh.Client;
using EvalMesh.Testing;

namespace EvalMesh.Benchmarks;

/// <summary>Adapter loads as the silos count them.</summary>
internal static class ClusterLoads
{
    /// <summary>The loads summed over every silo, once each of <paramref name="silos"/> has reported after now.</summary>
    public static async Task<long> AfterAsync(IEvalMeshClient client, int silos)
    {
        var since = DateTimeOffset.UtcNow;
        long loads = 0;
        await Poll.UntilAsync(async () =>
        {
            var snapshot = await client.GetResidencyAsync();
            loads = snapshot.Silos.Sum(s => s.Adapters.Sum(a => a.Loads));
            return snapshot.Silos.Count == silos && snapshot.Silos.All(s => s.At > since);
        }, TimeSpan.FromSeconds(30), "every silo to report its adapter counters");
        return loads;
    }
}
