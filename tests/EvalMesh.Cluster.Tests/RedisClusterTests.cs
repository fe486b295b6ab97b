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
    private readonly string _folder = Directory.CreateTempSubdirectory("evalmesh-redis-cluster-").FullName;
    private readonly string _clusterId = "test-" + Guid.NewGuid().ToString("N")[..8];
    private RedisServer _redis = null!;
    private readonly List<SiloProcess> _silos = [];

    public async ValueTask InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        var environment = new Dictionary<string, string> { ["EVALMESH_CACHE"] = Path.Combine(_folder, "cache") };
        var silos = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => SiloProcess.StartClusteredAsync(_redis.Address, _clusterId, environment)));
        _silos.AddRange(silos);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var silo in _silos)
        {
            await silo.DisposeAsync();
        }

        await _redis.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task CliRunOnTwoSiloProcesses_GivesOneResultPerCell_AndAReportThatMatchesThem()
    {
        var config = Path.Combine(_folder, "matrix.yaml");
        await File.WriteAllTextAsync(config, """
            datasets:
              - name: slack
                generate: { kind: slack, messages: 20, seed: 5, cases-per-category: 4 }
            suites:
              - name: slack
                dataset: slack
                generated: true
            formats: [oneline-json, csv, toon]
            tokenizers: [o200k_base]
            endpoints:
              - name: echo
                type: echo
              - name: tiny-a1
                type: llama
                model: tiny
                adapter: adapter-1
                max-tokens: 4
            repeats: 2
            """, TestContext.Current.CancellationToken);
        var run = await CliRunner.RunAsync(_folder, "run", config, "--cluster", "redis", "--redis", _redis.Address, "--cluster-id", _clusterId, "--service-id", _clusterId, "--json");
        Assert.True(run.ExitCode is 0 or 1, $"exit {run.ExitCode}\n{run.Stderr}\n{_silos[0].Log}");
        using var report = JsonDocument.Parse(run.Stdout);
        var status = report.RootElement.GetProperty("run");
        var runId = status.GetProperty("runId").GetString()!;
        Assert.Equal("completed", status.GetProperty("state").GetString());
        Assert.Equal(20 * 3 * 2 * 2, status.GetProperty("total").GetInt32());
        Assert.Equal(status.GetProperty("total").GetInt32(), status.GetProperty("completed").GetInt32());

        // Results straight from a silo's REST API, streamed as JSON lines, agree with the report.
        await RunChecks.AssertOneResultPerCellAsync(_silos[1], runId, report.RootElement, 240);

        // The run is visible from the other silo and from a second CLI invocation.
        var viaRest = await _silos[0].Http.GetFromJsonAsync<JsonElement>($"/api/runs/{runId}", TestContext.Current.CancellationToken);
        Assert.Equal("completed", viaRest.GetProperty("state").GetString());
        var runs = await CliRunner.RunAsync(_folder, "runs", "--cluster", "redis", "--redis", _redis.Address, "--cluster-id", _clusterId, "--service-id", _clusterId, "--json");
        Assert.Contains(runId, runs.Stdout);
    }
}
