using EvalMesh.Abstractions;
using EvalMesh.Contracts;
using EvalMesh.Grains.Runs;

namespace EvalMesh.Grains.Tests;

public class ShardScheduleTests
{
    private static SiloReport Silo(string name, int capacity, params string[] resident) =>
        new(name, capacity, 0, [.. resident.Select(key => new AdapterLoad(key, true, 1, 0, 1, 0, 0, 100))], [], default);

    private static DirectorySnapshot Snapshot(params SiloReport[] silos) =>
        new(silos, new Dictionary<string, string>(), new Dictionary<string, int>(), 1, new Dictionary<string, string>(), new HashSet<string>());

    private static ShardSchedule AdapterAware(params string?[] adapters) => ShardSchedule.For(RunSchedule.AdapterAware, adapters);

    [Fact]
    public void Fifo_RunsShardsInPlanOrder_SixteenAtATime_AndTellsTheDirectoryNothing()
    {
        var schedule = ShardSchedule.For(RunSchedule.Fifo, [.. Enumerable.Range(0, 20).Select(i => i % 2 == 0 ? "m|a" : "m|b")]);
        var residency = Snapshot(Silo("s", 1, "m|b"));
        Assert.Equal(Enumerable.Range(0, 20), schedule.Order(residency));
        var window = schedule.Window([.. Enumerable.Range(2, 18)], residency);
        Assert.Equal(Enumerable.Range(2, ShardSchedule.MaxActiveShards), window);
        Assert.Empty(schedule.Leased(window));
        Assert.Empty(schedule.Prefetch(window, [.. Enumerable.Range(2, 18)], Snapshot(Silo("s", 8))));
        Assert.Null(schedule.Released(0, [1]));
    }

    [Fact]
    public void AdapterAware_Order_GroupsByAdapter_ResidentOnesFirst_ThenNoAdapter_ThenTheRest()
    {
        // Plan order interleaves adapters; m|b is resident somewhere, shards 2 and 5 need no adapter.
        var schedule = AdapterAware("m|a", "m|b", null, "m|a", "m|b", null, "m|c");
        var order = schedule.Order(Snapshot(Silo("s", 4, "m|b")));
        Assert.Equal([1, 4, 2, 5, 0, 3, 6], order);
    }

    [Fact]
    public void AdapterAware_Window_HoldsNoMoreDistinctAdaptersThanTheClusterHasSlots()
    {
        var schedule = AdapterAware("m|a", "m|a", "m|b", null, "m|c", "m|c");
        var twoSlots = Snapshot(Silo("s1", 1), Silo("s2", 1));
        Assert.Equal([0, 1, 2, 3], schedule.Window([0, 1, 2, 3, 4, 5], twoSlots));
        Assert.Equal([2, 3, 4, 5], schedule.Window([2, 3, 4, 5], twoSlots));

        // Before any silo has reported, slots are not known: only the shard limit applies.
        Assert.Equal([0, 1, 2, 3, 4, 5], schedule.Window([0, 1, 2, 3, 4, 5], Snapshot()));
    }

    [Fact]
    public void AdapterAware_Window_NeverExceedsTheShardLimit()
    {
        var schedule = AdapterAware([.. Enumerable.Repeat<string?>(null, 40)]);
        Assert.Equal(ShardSchedule.MaxActiveShards, schedule.Window([.. Enumerable.Range(0, 40)], Snapshot(Silo("s", 4))).Count);
    }

    [Fact]
    public void AdapterAware_LeasesTheWindowsAdapters_AndPrefetchesUpcomingOnesIntoFreeSlots()
    {
        var schedule = AdapterAware("m|a", "m|a", "m|b", "m|c", "m|d", null);
        Assert.Equal(["m|a", "m|b"], schedule.Leased([0, 1, 2, 5]));

        // Two free slots (capacity 3, one resident): the next two adapters not already running.
        var residency = Snapshot(Silo("s", 3, "m|x"));
        Assert.Equal(["m|c", "m|d"], schedule.Prefetch([0, 1, 2], [0, 1, 2, 3, 4, 5], residency));
        Assert.Equal(["m|c"], schedule.Prefetch([0, 1, 2], [0, 1, 2, 3, 4, 5], Snapshot(Silo("s", 2, "m|x"))));
        Assert.Empty(schedule.Prefetch([0, 1, 2], [0, 1, 2, 3, 4, 5], Snapshot(Silo("s", 1, "m|x"))));
    }

    [Fact]
    public void AdapterAware_ReleasesAnAdapter_OnlyOnceNoUnfinishedShardNeedsIt()
    {
        var schedule = AdapterAware("m|a", "m|a", null);
        Assert.Null(schedule.Released(0, [1, 2]));
        Assert.Equal("m|a", schedule.Released(1, [2]));
        Assert.Null(schedule.Released(2, []));
    }

    [Fact]
    public void Plan_SplitsEachSuiteAndEndpointIntoRunsOfCases_KeepingACasesFormatsAndRepeatsTogether()
    {
        EndpointConfig Endpoint(string name) => new(name, EndpointType.Echo, null, null, null, null, 8, 0, 60, 16);
        var spec = new RunSpec(null, [new SuiteRef("s1", "s1", "d", 5), new SuiteRef("s2", "s2", "d", 2)], ["csv", "toon"], [], [Endpoint("e1"), Endpoint("e2")], [], null, "{{context}}{{question}}", Repeats: 2, Concurrency: 1, ShardSize: 8);
        var plan = ShardSchedule.Plan(spec);

        // 2 formats × 2 repeats = 4 cells per case, so 2 cases per shard of 8 cells.
        Assert.Equal(
            [
                new ShardPlan(0, 0, 0, 2), new ShardPlan(0, 0, 2, 4), new ShardPlan(0, 0, 4, 5),
                new ShardPlan(0, 1, 0, 2), new ShardPlan(0, 1, 2, 4), new ShardPlan(0, 1, 4, 5),
                new ShardPlan(1, 0, 0, 2), new ShardPlan(1, 1, 0, 2),
            ],
            plan);
        Assert.Equal(spec.TotalCells, plan.Sum(p => new ShardSpec("r", 0, spec, p).CellCount));
    }
}
