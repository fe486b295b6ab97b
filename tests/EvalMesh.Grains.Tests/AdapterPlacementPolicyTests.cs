using EvalMesh.Abstractions;
using EvalMesh.Grains.Routing;

namespace EvalMesh.Grains.Tests;

public class AdapterPlacementPolicyTests
{
    private static readonly string[] Silos = ["a", "b", "c", "d"];

    private static SiloReport Silo(string name, int capacity, int queue, params AdapterLoad[] adapters) =>
        new(name, capacity, queue, adapters, [], default);

    private static AdapterLoad Resident(string key, int frequency = 1, int queue = 0) => new(key, true, frequency, queue, 1, 0, 0, 100);

    private static AdapterLoad Evicted(string key, int frequency) => new(key, false, frequency, 0, 1, 0, 1, 0);

    private static DirectorySnapshot Snapshot(IEnumerable<SiloReport> silos, Dictionary<string, string>? homes = null, Dictionary<string, string>? pending = null, HashSet<string>? leased = null) =>
        new([.. silos], homes ?? [], new Dictionary<string, int>(), 1, pending ?? [], leased ?? []);

    private static PlacementDecision Choose(DirectorySnapshot snapshot, string key) =>
        AdapterPlacementPolicy.Choose(snapshot, key, Silos, new Random(1));

    [Fact]
    public void Choose_AdapterResidentSomewhere_GoesToTheLeastQueuedHolder()
    {
        var snapshot = Snapshot([Silo("a", 4, 9, Resident("m|x")), Silo("b", 4, 0), Silo("c", 4, 2, Resident("m|x")), Silo("d", 4, 0)]);
        Assert.Equal(new PlacementDecision("c", "resident"), Choose(snapshot, "m|x"));
    }

    [Fact]
    public void Choose_ColdAdapter_GoesWhereMostSlotsAreFree_CountingLoadsAlreadyPromised()
    {
        var snapshot = Snapshot(
            [Silo("a", 4, 0, Resident("m|1"), Resident("m|2")), Silo("b", 4, 0), Silo("c", 4, 0, Resident("m|3")), Silo("d", 4, 0, Resident("m|4"))],
            pending: new Dictionary<string, string> { ["m|5"] = "b", ["m|6"] = "b" });
        var decision = Choose(snapshot, "m|7");
        Assert.Equal("free-capacity", decision.Reason);
        Assert.Contains(decision.Silo, new[] { "c", "d" });
    }

    [Fact]
    public void Choose_FullCluster_EvictsTheLeastUsedIdleAdapter_AndAvoidsBusySilos()
    {
        var snapshot = Snapshot([
            Silo("a", 2, 0, Resident("m|1", 50), Resident("m|2", 40)),
            Silo("b", 2, 0, Resident("m|3", 3), Resident("m|4", 30)),
            Silo("c", 2, 5, Resident("m|5", 1, queue: 5), Resident("m|6", 2, queue: 1)),
            Silo("d", 2, 0, Resident("m|7", 20), Resident("m|8", 25)),
        ]);
        Assert.Equal(new PlacementDecision("b", "cheapest-eviction"), Choose(snapshot, "m|9"));
    }

    [Fact]
    public void Choose_FullCluster_RanksVictimsByClusterWideFrequency_CountsOfEvictedAdaptersIncluded()
    {
        // m|1 is new on a, but b asked for it 30 times before evicting it: a's cheapest victim is m|2 at 31, not 1.
        var snapshot = Snapshot([
            Silo("a", 2, 0, Resident("m|1", 1), Resident("m|2", 40)),
            Silo("b", 2, 0, Resident("m|3", 5), Resident("m|4", 30), Evicted("m|1", 30)),
            Silo("c", 2, 0, Resident("m|5", 20), Resident("m|6", 25)),
            Silo("d", 2, 0, Resident("m|7", 20), Resident("m|8", 25)),
        ]);
        Assert.Equal(new PlacementDecision("b", "cheapest-eviction"), Choose(snapshot, "m|9"));
    }

    [Fact]
    public void FrequencyOf_SumsEverySilosCount_AndFrequencyElsewhere_LeavesOneSiloOut()
    {
        var snapshot = Snapshot([Silo("a", 2, 0, Resident("m|1", 3)), Silo("b", 2, 0, Evicted("m|1", 30), Resident("m|2", 4))]);
        Assert.Equal((33, 4, 0), (snapshot.FrequencyOf("m|1"), snapshot.FrequencyOf("m|2"), snapshot.FrequencyOf("m|9")));
        Assert.Equal((30, 3, 4), (snapshot.FrequencyElsewhere("m|1", "a"), snapshot.FrequencyElsewhere("m|1", "b"), snapshot.FrequencyElsewhere("m|2", "a")));

        // A copy with other reports sums its own.
        Assert.Equal(3, (snapshot with { Silos = [snapshot.Silos[0]] }).FrequencyOf("m|1"));
        Assert.Equal(33, (snapshot with { Version = 2 }).FrequencyOf("m|1"));
    }

    [Fact]
    public void Choose_FullCluster_EvictsFirstACopyLeftBehindByARetiredReplica()
    {
        // m|1 is the most used adapter; its host lives on a, and b still holds the copy its retired replica loaded.
        var silos = new[]
        {
            Silo("a", 2, 0, Resident("m|1", 60), Resident("m|2", 40)),
            Silo("b", 2, 0, Resident("m|1", 30), Resident("m|3", 5)),
            Silo("c", 2, 0, Resident("m|4", 3), Resident("m|5", 25)),
            Silo("d", 2, 0, Resident("m|6", 20), Resident("m|7", 25)),
        };
        var retired = Snapshot(silos, homes: new Dictionary<string, string> { ["m|1"] = "a" });
        Assert.Equal((false, true), (retired.IsSurplus("m|1", "a"), retired.IsSurplus("m|1", "b")));
        Assert.Equal((90, 0, 5), (retired.EvictionCostOf("m|1", "a"), retired.EvictionCostOf("m|1", "b"), retired.EvictionCostOf("m|3", "b")));
        Assert.Equal(new PlacementDecision("b", "cheapest-eviction"), Choose(retired, "m|9"));

        // While the replica serves, b's copy counts in full; with no home on a holder, no copy is surplus.
        var serving = Snapshot(silos, homes: new Dictionary<string, string> { ["m|1"] = "a", ["m|1#2"] = "b" });
        Assert.Equal((90, false), (serving.EvictionCostOf("m|1", "b"), serving.IsSurplus("m|1", "a")));
        Assert.Equal(new PlacementDecision("c", "cheapest-eviction"), Choose(serving, "m|9"));
        var homeless = Snapshot(silos, homes: new Dictionary<string, string> { ["m|1"] = "c" });
        Assert.Equal((false, false), (homeless.IsSurplus("m|1", "a"), homeless.IsSurplus("m|1", "b")));
    }

    [Fact]
    public void Choose_FullCluster_NeverEvictsALeasedAdapter_HoweverSeldomUsed()
    {
        var silos = new[]
        {
            Silo("a", 2, 0, Resident("m|1", 1), Resident("m|2", 40)),
            Silo("b", 2, 0, Resident("m|3", 5), Resident("m|4", 30)),
            Silo("c", 2, 0, Resident("m|5", 20), Resident("m|6", 25)),
            Silo("d", 2, 0, Resident("m|7", 20), Resident("m|8", 25)),
        };
        Assert.Equal("a", Choose(Snapshot(silos), "m|9").Silo);
        Assert.Equal(new PlacementDecision("b", "cheapest-eviction"), Choose(Snapshot(silos, leased: ["m|1"]), "m|9"));
    }

    [Fact]
    public void Choose_ReplicaWhereNothingCanBeEvicted_GoesWhereItsAdapterIsResident()
    {
        var snapshot = Snapshot(
            [
                Silo("a", 2, 0, Resident("m|1"), Resident("m|2")),
                Silo("b", 2, 4, Resident("m|x", queue: 4), Resident("m|3")),
                Silo("c", 2, 0, Resident("m|4", queue: 2), Resident("m|5")),
                Silo("d", 2, 0, Resident("m|6"), Resident("m|7")),
            ],
            homes: new Dictionary<string, string> { ["m|x"] = "b" },
            leased: ["m|1", "m|2", "m|3", "m|5", "m|6", "m|7", "m|x"]);
        Assert.Equal(new PlacementDecision("b", "resident"), Choose(snapshot, "m|x#2"));
        Assert.Equal("cheapest-eviction", Choose(snapshot, "m|y").Reason);
    }

    [Theory]
    [InlineData(0, "c")]    // resident on c: a hit there beats a load here
    [InlineData(1, "a")]    // a slot free here: load here
    [InlineData(2, "b")]    // full here, b's cheapest idle adapter (3) is far cheaper than ours (40): move
    [InlineData(3, "a")]    // full here, b's cheapest (30) is not clearly cheaper than ours (40): stay
    public void ServeAt_PrefersAHit_ThenAFreeSlotHere_ThenAClearlyCheaperEviction(int scenario, string expected)
    {
        SiloReport[] silos = scenario switch
        {
            0 => [Silo("a", 2, 0, Resident("m|1", 50), Resident("m|2", 40)), Silo("c", 2, 0, Resident("m|x", 9))],
            1 => [Silo("a", 3, 0, Resident("m|1", 50), Resident("m|2", 40)), Silo("b", 2, 0, Resident("m|3", 1), Resident("m|4", 1))],
            2 => [Silo("a", 2, 0, Resident("m|1", 50), Resident("m|2", 40)), Silo("b", 2, 0, Resident("m|3", 3), Resident("m|4", 30))],
            _ => [Silo("a", 2, 0, Resident("m|1", 50), Resident("m|2", 40)), Silo("b", 2, 0, Resident("m|3", 30), Resident("m|4", 35))],
        };
        Assert.Equal(expected, AdapterPlacementPolicy.ServeAt(Snapshot(silos), "m|x", "a", new Random(1)));
    }

    [Fact]
    public void Choose_FullCluster_LoadsAlreadyPromisedClaimTheCheapestVictimsFirst()
    {
        var silos = new[]
        {
            Silo("a", 2, 0, Resident("m|1", 2), Resident("m|2", 40)),
            Silo("b", 2, 0, Resident("m|3", 3), Resident("m|4", 30)),
            Silo("c", 2, 0, Resident("m|5", 50), Resident("m|6", 60)),
            Silo("d", 2, 0, Resident("m|7", 20), Resident("m|8", 25)),
        };
        Assert.Equal("a", Choose(Snapshot(silos), "m|9").Silo);
        Assert.Equal("b", Choose(Snapshot(silos, pending: new() { ["m|10"] = "a" }), "m|9").Silo);
        Assert.Equal("d", Choose(Snapshot(silos, pending: new() { ["m|10"] = "a", ["m|11"] = "b" }), "m|9").Silo);
    }

    [Fact]
    public void Choose_Replica_AvoidsSilosHostingItsOtherReplicas()
    {
        var snapshot = Snapshot(
            [Silo("a", 4, 3, Resident("m|x")), Silo("b", 4, 0), Silo("c", 4, 0), Silo("d", 4, 0)],
            new Dictionary<string, string> { ["m|x"] = "a", ["m|x#2"] = "b" });
        var decision = Choose(snapshot, "m|x#3");
        Assert.Contains(decision.Silo, new[] { "c", "d" });
    }

    [Fact]
    public void Choose_NoReportYet_TreatsTheSiloAsFree()
    {
        Assert.Equal("free-capacity", Choose(Snapshot([]), "m|x").Reason);
    }

    [Fact]
    public void ReplicaKeys_RoundTrip()
    {
        Assert.Equal("tiny|a", AdapterKey.OfHost("tiny|a#3"));
        Assert.Equal(3, AdapterKey.ReplicaOf("tiny|a#3"));
        Assert.Equal(1, AdapterKey.ReplicaOf("tiny|a"));
        Assert.Equal("tiny|/models/x#y.gguf", AdapterKey.OfHost("tiny|/models/x#y.gguf"));
        Assert.Equal("tiny|a#2", AdapterKey.Replica("tiny|a", 2));
        Assert.Equal("tiny|a", AdapterKey.Replica("tiny|a", 1));
    }

    [Fact]
    public void ReplicaPolicy_AddsAReplicaWhenHotLongEnough_AndRetiresItWhenCool()
    {
        var policy = new ReplicaPolicy(new AdapterAffinityPlacementOptions { HotQueueDepth = 4, HotFor = TimeSpan.FromSeconds(1), CoolQueueDepth = 1, CoolFor = TimeSpan.FromSeconds(2), MaxReplicas = 3 });
        var start = DateTimeOffset.UnixEpoch;
        DirectorySnapshot Load(int queue) => Snapshot([Silo("a", 4, queue, Resident("m|x", queue: queue)), Silo("b", 4, 0), Silo("c", 4, 0)]);
        Assert.Empty(policy.Update(Load(10), start));
        Assert.Empty(policy.Update(Load(10), start.AddMilliseconds(500)));
        Assert.Equal(["m|x"], policy.Update(Load(10), start.AddSeconds(1)));
        Assert.Equal(2, policy.Replicas["m|x"]);
        Assert.Empty(policy.Update(Load(6), start.AddSeconds(5)));
        Assert.Empty(policy.Update(Load(0), start.AddSeconds(6)));
        Assert.Equal(["m|x"], policy.Update(Load(0), start.AddSeconds(8)));
        Assert.False(policy.Replicas.ContainsKey("m|x"));
    }

    [Fact]
    public void ReplicaPolicy_NoRoomWhereTheOnlyVictimIsLeasedOrPromised()
    {
        var options = new AdapterAffinityPlacementOptions { HotQueueDepth = 4, HotFor = TimeSpan.Zero, MaxReplicas = 2 };
        var start = DateTimeOffset.UnixEpoch;
        SiloReport[] silos = [Silo("a", 1, 10, Resident("m|x", 40, queue: 10)), Silo("b", 1, 0, Resident("m|y", 1))];
        bool Replicated(DirectorySnapshot snapshot)
        {
            var policy = new ReplicaPolicy(options);
            policy.Update(snapshot, start);
            return policy.Update(snapshot, start.AddSeconds(1)).Count == 1;
        }

        Assert.True(Replicated(Snapshot(silos)));
        Assert.False(Replicated(Snapshot(silos, leased: ["m|y"])));
        Assert.False(Replicated(Snapshot(silos, pending: new Dictionary<string, string> { ["m|z"] = "b" })));
    }

    [Fact]
    public void ReplicaPolicy_NoRoomWhereTheVictimIsBusyClusterWide()
    {
        var options = new AdapterAffinityPlacementOptions { HotQueueDepth = 4, HotFor = TimeSpan.Zero, MaxReplicas = 2 };
        var start = DateTimeOffset.UnixEpoch;
        bool Replicated(params SiloReport[] silos)
        {
            var policy = new ReplicaPolicy(options);
            policy.Update(Snapshot(silos), start);
            return policy.Update(Snapshot(silos), start.AddSeconds(1)).Count == 1;
        }

        // m|y is new on b, which makes it look like room, but c asked for it 20 times: not a quarter of m|x's 40.
        Assert.True(Replicated(Silo("a", 1, 10, Resident("m|x", 40, queue: 10)), Silo("b", 1, 0, Resident("m|y", 1))));
        Assert.False(Replicated(Silo("a", 1, 10, Resident("m|x", 40, queue: 10)), Silo("b", 1, 0, Resident("m|y", 1)), Silo("c", 0, 0, Evicted("m|y", 20))));
    }

    [Fact]
    public void ReplicaPolicy_LeasedAdapter_GetsAReplicaOnlyInAFreeSlot()
    {
        var options = new AdapterAffinityPlacementOptions { HotQueueDepth = 4, HotFor = TimeSpan.Zero, MaxReplicas = 2 };
        var start = DateTimeOffset.UnixEpoch;
        bool Replicated(params SiloReport[] silos)
        {
            var policy = new ReplicaPolicy(options);
            var snapshot = Snapshot(silos, leased: ["m|x"]);
            policy.Update(snapshot, start);
            return policy.Update(snapshot, start.AddSeconds(1)).Count == 1;
        }

        // An idle, unused adapter elsewhere is room for a serving replica, but for a run it is the room its next load takes.
        Assert.False(Replicated(Silo("a", 1, 10, Resident("m|x", 40, queue: 10)), Silo("b", 1, 0, Resident("m|y", 0))));
        Assert.True(Replicated(Silo("a", 1, 10, Resident("m|x", 40, queue: 10)), Silo("b", 2, 0, Resident("m|y", 0))));
    }
}
