using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using EvalMesh.Testing;

namespace EvalMesh.Cluster.Tests;

/// <summary>
/// A run survives losing a silo: a real redis-server, three silo processes clustered through it, and a 3,000-cell run
/// (the tiny model with an adapter, and echo) started from the CLI. At about 40% one silo is killed (SIGKILL) or
/// stopped (SIGTERM); the run completes on the others with exactly one result per cell, and the report's aggregates
/// equal a recomputation from the raw results. The time from the kill to the next progress is printed.
/// </summary>
public sealed class SiloLossTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Cells = 3_000;

    // Longer than a silo's loss or the Redis outage below take to recover from, short enough for a test.
    private static readonly TimeSpan StallDeadline = TimeSpan.FromSeconds(30);
    private readonly SiloProcessCluster _cluster = new("silo-loss");

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private List<SiloProcess> Silos => _cluster.Silos;

    public async ValueTask InitializeAsync()
    {
        await _cluster.StartAsync(silos: 3, new Dictionary<string, string> { ["EvalMesh__StallDeadline"] = StallDeadline.ToString("c", CultureInfo.InvariantCulture) });
        await ClusterMatrix.WriteAsync(_cluster.Folder, messages: 12, seed: 9, casesPerCategory: 10, maxTokens: 2, repeats: 10);
    }

    public ValueTask DisposeAsync() => _cluster.DisposeAsync();

    // EVALMESH_SILO_LOSS_REPEATS=N runs every case N times (the on-demand version; CI runs each once).
    public static TheoryData<string, int> Losses
    {
        get
        {
            var repeats = int.TryParse(Environment.GetEnvironmentVariable("EVALMESH_SILO_LOSS_REPEATS"), out var n) ? n : 1;
            var cases = new TheoryData<string, int>();
            foreach (var loss in new[] { "kill a shard silo", "kill the run's silo", "stop a silo" })
            {
                for (var i = 1; i <= repeats; i++)
                {
                    cases.Add(loss, i);
                }
            }

            return cases;
        }
    }

    [Theory]
    [MemberData(nameof(Losses))]
    public async Task RunCompletes_WithOneResultPerCell_AfterLosingASilo(string loss, int attempt)
    {
        var watcher = Silos[0];
        var (cli, runId) = await StartRunPastAThirdAsync(watcher);

        // The victim: a silo running shards but not the run grain, the run grain's silo, or (SIGTERM) any silo but the watcher.
        var holdsRun = await Task.WhenAll(Silos.Select(s => GrainsAsync(s, "evalrun")));
        var victim = loss switch
        {
            "kill the run's silo" => Silos[Array.FindIndex(holdsRun, n => n > 0)],
            _ => Silos.Skip(1).First(s => holdsRun[Silos.IndexOf(s)] == 0),
        };
        var survivor = Silos.First(s => s != victim);
        var before = await CompletedAsync(survivor, runId);
        var clock = Stopwatch.StartNew();
        if (loss == "stop a silo")
        {
            await victim.StopAsync(TimeSpan.FromSeconds(60));
        }
        else
        {
            victim.Kill();
        }

        try
        {
            await Poll.UntilAsync(async () => await CompletedAsync(survivor, runId) > before, TimeSpan.FromMinutes(3), "progress after the loss");
        }
        catch (Exception ex)
        {
            throw new InvalidOperationException($"no progress after the loss ({ex.Message}); the survivor's log:\n{survivor.Log}", ex);
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{loss} (#{attempt}): progress resumed {clock.Elapsed.TotalSeconds:0.0} s after it, at {before}/{Cells} cells"));

        var run = await cli;
        Assert.True(run.ExitCode is 0 or 1, $"exit {run.ExitCode}\n{run.Stderr}\n{survivor.Log}");
        using var report = JsonDocument.Parse(run.Stdout);
        var status = report.RootElement.GetProperty("run");
        Assert.Equal(runId, status.GetProperty("runId").GetString());
        Assert.Equal("completed", status.GetProperty("state").GetString());
        Assert.Equal(Cells, status.GetProperty("total").GetInt32());
        Assert.Equal(Cells, status.GetProperty("completed").GetInt32());

        await RunChecks.AssertOneResultPerCellAsync(survivor, runId, report.RootElement, Cells);

        if (loss == "stop a silo")
        {
            Assert.Equal(0, victim.ExitCode);
        }

        // The next case starts with three silos again.
        Silos.Remove(victim);
        await victim.DisposeAsync();
        Silos.Add(await _cluster.StartSiloAsync());
    }

    [Fact]
    public async Task RunPausesWhileRedisIsDown_AndCompletesWithOneResultPerCell_WhenItIsBack()
    {
        var watcher = Silos[0];
        var (cli, runId) = await StartRunPastAThirdAsync(watcher);

        _cluster.Redis.Kill();
        var down = Stopwatch.StartNew();
        await Poll.UntilAsync(() => Task.FromResult(down.Elapsed >= TimeSpan.FromSeconds(10)), TimeSpan.FromSeconds(20), "Redis to stay away for 10 s");
        await _cluster.Redis.RestartAsync();

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

        _cluster.Redis.Kill();
        var run = await cli;

        Assert.Equal(3, run.ExitCode);
        var line = Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"evalmesh: error: run {runId} failed: its shards kept failing without progress for {StallDeadline.TotalSeconds:0} s (EvalMesh:StallDeadline): ", line, StringComparison.Ordinal);
        Assert.EndsWith($"after fixing the cause, 'evalmesh run --resume {runId}' carries on", line, StringComparison.Ordinal);
    }

    // Starts the matrix from the CLI and waits until a third of it is done: the echo half finishes at once, so the
    // run is then in the middle of the model's half.
    private async Task<(Task<ProgramResult> Cli, string RunId)> StartRunPastAThirdAsync(SiloProcess watcher)
    {
        var earlier = await RunIdsAsync(watcher);
        var cli = CliRunner.RunAsync(_cluster.Folder, ["run", "matrix.yaml", .. _cluster.CliArguments, "--json"]);
        var runId = await WaitForAsync(async () => (await RunIdsAsync(watcher)).Except(earlier).FirstOrDefault(), "the run to start");
        await Poll.UntilAsync(async () => await CompletedAsync(watcher, runId) >= Cells / 3, TimeSpan.FromMinutes(5), "a third of the run");
        return (cli, runId);
    }

    private static async Task<List<string>> RunIdsAsync(SiloProcess silo) =>
        [.. (await silo.Http.GetFromJsonAsync<JsonElement>("/api/runs", Token)).EnumerateArray().Select(r => r.GetProperty("runId").GetString()!)];

    private static async Task<int> CompletedAsync(SiloProcess silo, string runId) =>
        (await silo.Http.GetFromJsonAsync<JsonElement>($"/api/runs/{runId}", Token)).GetProperty("completed").GetInt32();

    // Activations of a grain type on one silo, from Orleans' own meter at /metrics.
    private static async Task<int> GrainsAsync(SiloProcess silo, string grainType)
    {
        var match = Regex.Match(await silo.Http.GetStringAsync("/metrics", Token), $@"\nmicrosoft_orleans_orleans_grains\{{grain_type=""{grainType}""\}} (\d+)");
        return match.Success ? int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }

    private static async Task<T> WaitForAsync<T>(Func<Task<T?>> probe, string what)
        where T : class
    {
        T? found = null;
        await Poll.UntilAsync(async () => (found = await probe()) is not null, TimeSpan.FromMinutes(2), what);
        return found!;
    }
}
