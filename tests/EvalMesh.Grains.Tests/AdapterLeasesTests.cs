using EvalMesh.Abstractions;
using EvalMesh.Grains.Routing;

namespace EvalMesh.Grains.Tests;

public class AdapterLeasesTests
{
    private static readonly DateTimeOffset Start = DateTimeOffset.UnixEpoch;

    private static AdapterLeases Leases() => new(TimeSpan.FromSeconds(10));

    private static SiloReport Silo(string name, params AdapterLoad[] adapters) => new(name, 2, adapters.Sum(a => a.Queue), adapters, [], default);

    private static AdapterLoad Resident(string key, int frequency, int queue) => new(key, true, frequency, queue, 1, 0, 0, 100);

    private static Dictionary<string, SiloReport> Reports(params SiloReport[] silos) => silos.ToDictionary(s => s.Silo);

    [Fact]
    public void Lease_LastsWhileRenewed_AndEndsWhenReplacedOrExpired()
    {
        var leases = Leases();
        leases.Lease("run-1", ["m|1", "m|2"], Start);
        leases.Lease("run-2", ["m|2", "m|3"], Start);
        Assert.Equal(["m|1", "m|2", "m|3"], leases.Leased.Order().ToList());

        // run-1 moves on to its next window and keeps renewing; run-2 stops renewing (it died).
        leases.Lease("run-1", ["m|4"], Start.AddSeconds(8));
        Assert.False(leases.Prune(Reports(), Start.AddSeconds(10)));
        Assert.Equal(["m|2", "m|3", "m|4"], leases.Leased.Order().ToList());
        Assert.True(leases.Prune(Reports(), Start.AddSeconds(11)));
        Assert.Equal(["m|4"], leases.Leased.ToList());

        leases.Lease("run-1", [], Start.AddSeconds(12));
        Assert.Empty(leases.Leased);
    }

    [Fact]
    public void Release_ShowsTheAdapterIdleAndUnused_UntilTheSilosReportAgrees()
    {
        var leases = Leases();
        var stale = Silo("a", Resident("m|1", 8, 2), Resident("m|2", 5, 3));
        leases.Release("m|1", ["a"], Start);

        // The report the silo made while the run's last requests were queued does not undo the release.
        Assert.False(leases.Prune(Reports(stale), Start.AddSeconds(1)));
        var shown = leases.Apply(stale);
        Assert.Equal(new AdapterLoad("m|1", true, 0, 0, 1, 0, 0, 100), shown.Adapters[0]);
        Assert.Equal(stale.Adapters[1], shown.Adapters[1]);

        // Once the silo reports it idle and unused, the reports speak for themselves again.
        Assert.True(leases.Prune(Reports(Silo("a", Resident("m|1", 0, 0))), Start.AddSeconds(2)));
        var reused = Silo("a", Resident("m|1", 1, 4));
        Assert.Same(reused, leases.Apply(reused));
    }

    [Fact]
    public void Release_OnASiloThatEvictedTheAdapter_HidesItsCountUntilTheSiloForgetsIt()
    {
        var leases = Leases();
        var counted = Silo("b", new AdapterLoad("m|1", false, 7, 0, 1, 0, 1, 0));
        leases.Release("m|1", ["b"], Start);
        Assert.False(leases.Prune(Reports(counted), Start.AddSeconds(1)));
        Assert.Equal(0, leases.Apply(counted).Adapters[0].Frequency);
        Assert.True(leases.Prune(Reports(Silo("b", new AdapterLoad("m|1", false, 0, 0, 1, 0, 1, 0))), Start.AddSeconds(2)));
        Assert.Same(counted, leases.Apply(counted));
    }

    [Fact]
    public void Release_EndsAfterTheLifetime_OrWhenItsSiloIsGone()
    {
        var leases = Leases();
        var busy = Silo("a", Resident("m|1", 3, 1));
        leases.Release("m|1", ["a", "b"], Start);
        Assert.True(leases.Prune(Reports(busy), Start.AddSeconds(1)));
        Assert.Equal(0, leases.Apply(busy).Adapters[0].Queue);
        Assert.True(leases.Prune(Reports(busy), Start.AddSeconds(11)));
        Assert.Same(busy, leases.Apply(busy));
    }
}
