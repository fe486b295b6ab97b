using System.Diagnostics;
using System.Text.Json;
using EvalMesh.Testing;

namespace EvalMesh.Cluster.Tests;

/// <summary>
/// A run and the Redis that its cluster forms through and stores into (see <see cref="ThreeSiloRuns"/>): killed at
/// about 40% and back after 10 s, the run completes with exactly one result per cell; gone for good, the run fails
/// after the stall deadline with one clear line that says how to resume it.
/// </summary>
public sealed class RedisOutageTests() : ThreeSiloRuns("redis-outage")
{
    [Fact]
    public async Task RunPausesWhileRedisIsDown_AndCompletesWithOneResultPerCell_WhenItIsBack()
    {
        var watcher = Silos[0];
        var (cli, runId) = await StartRunPastAThirdAsync(watcher);

        Cluster.Redis.Kill();
        var down = Stopwatch.StartNew();
        await Poll.UntilAsync(() => Task.FromResult(down.Elapsed >= TimeSpan.FromSeconds(10)), TimeSpan.FromSeconds(20), "Redis to stay away for 10 s");
        await Cluster.Redis.RestartAsync();

        var run = await cli;
        Assert.True(run.ExitCode is 0 or 1, $"exit {run.ExitCode}\n{run.Stderr}\n{watcher.Log}");
        using var report = JsonDocument.Parse(run.Stdout);
        var status = report.RootElement.GetProperty("run");
        Assert.Equal("completed", status.GetProperty("state").GetString());
        Assert.Equal(Cells, status.GetProperty("completed").GetInt32());
        await RunChecks.AssertOneResultPerCellAsync(watcher, runId, report.RootElement, Cells);
    }

    [Fact]
    public async Task RunFailsWithAClearError_WhenRedisStaysAwayPastTheStallDeadline()
    {
        var watcher = Silos[0];
        var (cli, runId) = await StartRunPastAThirdAsync(watcher);

        Cluster.Redis.Kill();
        var run = await cli;

        Assert.Equal(3, run.ExitCode);
        var line = Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"evalmesh: error: run {runId} failed: its shards kept failing without progress for {StallDeadline.TotalSeconds:0} s (EvalMesh:StallDeadline): ", line, StringComparison.Ordinal);
        Assert.EndsWith($"after fixing the cause, 'evalmesh run --resume {runId}' carries on", line, StringComparison.Ordinal);
    }
}
