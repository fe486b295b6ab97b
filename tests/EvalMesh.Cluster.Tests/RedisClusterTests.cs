using System.Net.Http.Json;
using System.Text.Json;
using EvalMesh.Testing;

namespace EvalMesh.Cluster.Tests;

/// <summary>
/// The whole system as deployed: a real redis-server, two silo processes clustered through it, and the CLI connecting
/// to them as an Orleans client. Every cell must have exactly one result, and the report must agree with the results.
/// </summary>
public sealed class RedisClusterTests : IAsyncLifetime
{
    private readonly SiloProcessCluster _cluster = new("redis-cluster");

    public ValueTask InitializeAsync() => new(_cluster.StartAsync(silos: 2));

    public ValueTask DisposeAsync() => _cluster.DisposeAsync();

    [Fact]
    public async Task CliRunOnTwoSiloProcesses_GivesOneResultPerCell_AndAReportThatMatchesThem()
    {
        var config = await ClusterMatrix.WriteAsync(_cluster.Folder, messages: 20, seed: 5, casesPerCategory: 4, maxTokens: 4, repeats: 2);
        var run = await CliRunner.RunAsync(_cluster.Folder, ["run", config, .. _cluster.CliArguments, "--json"]);
        Assert.True(run.ExitCode is 0 or 1, $"exit {run.ExitCode}\n{run.Stderr}\n{_cluster.Silos[0].Log}");
        using var report = JsonDocument.Parse(run.Stdout);
        var status = report.RootElement.GetProperty("run");
        var runId = status.GetProperty("runId").GetString()!;
        Assert.Equal("completed", status.GetProperty("state").GetString());
        Assert.Equal(20 * 3 * 2 * 2, status.GetProperty("total").GetInt32());
        Assert.Equal(status.GetProperty("total").GetInt32(), status.GetProperty("completed").GetInt32());

        // Results straight from a silo's REST API, streamed as JSON lines, agree with the report.
        await RunChecks.AssertOneResultPerCellAsync(_cluster.Silos[1], runId, report.RootElement, 240);

        // The run is visible from the other silo and from a second CLI invocation.
        var viaRest = await _cluster.Silos[0].Http.GetFromJsonAsync<JsonElement>($"/api/runs/{runId}", TestContext.Current.CancellationToken);
        Assert.Equal("completed", viaRest.GetProperty("state").GetString());
        var runs = await CliRunner.RunAsync(_cluster.Folder, ["runs", .. _cluster.CliArguments, "--json"]);
        Assert.Contains(runId, runs.Stdout);
    }
}
