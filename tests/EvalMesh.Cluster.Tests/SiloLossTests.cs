using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using EvalMesh.Testing;

namespace EvalMesh.Cluster.Tests;

/// <summary>
/// A run survives losing a silo (see <see cref="ThreeSiloRuns"/>): at about 40% one silo is killed (SIGKILL) or
/// stopped (SIGTERM); the run completes on the others with exactly one result per cell, and the report's aggregates
/// equal a recomputation from the raw results. The time from the kill to the next progress is printed.
/// </summary>
public sealed class SiloLossTests(ITestOutputHelper output) : ThreeSiloRuns("silo-loss")
{
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
            await Poll.UntilAsync(async () => await CompletedAsync(survivor, runId) > before, TimeSpan.FromMinutes(3), "progress after the loss", interval: ApiPollInterval);
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
    }

    // Activations of a grain type on one silo, from Orleans' own meter at /metrics.
    private static async Task<int> GrainsAsync(SiloProcess silo, string grainType)
    {
        var match = Regex.Match(await silo.Http.GetStringAsync("/metrics", Token), $@"\nmicrosoft_orleans_orleans_grains\{{grain_type=""{grainType}""\}} (\d+)");
        return match.Success ? int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }
}
