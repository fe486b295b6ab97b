using System.Text.Json;
using System.Text.Json.Nodes;
using EvalMesh.Testing;

namespace EvalMesh.Cluster.Tests;

/// <summary>
/// A service outside the cluster (tests/EvalMesh.HttpClientCheck, which references the SDK's HTTP flavour alone) runs a
/// config from its own local files (a dataset and a suite file) against two silo processes clustered through a real
/// redis-server, with an API key; it gets the same report and the same cells as the CLI's embedded run of the config.
/// </summary>
public sealed class HttpClientTests : IAsyncLifetime
{
    private const string RunKey = "run-key-7c2e5a9f1b3d8064";
    private const string AdminKey = "admin-key-3b8e1f6a0c5d9274";

    private readonly SiloProcessCluster _cluster = new("http-client");

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync() => new(_cluster.StartAsync(silos: 2, ApiKeys.Environment([("runner", RunKey, "Run"), ("admin", AdminKey, "Admin")])));

    public ValueTask DisposeAsync() => _cluster.DisposeAsync();

    [Fact]
    public async Task HttpFlavourOnTwoRedisSilos_RunsLocalFiles_AndGetsTheEmbeddedRunsReportCellForCell()
    {
        var config = await ClusterMatrix.WriteWithFilesAsync(Path.Combine(_cluster.Folder, "local"), messages: 20, seed: 5, casesPerCategory: 2, maxTokens: 4, repeats: 2);
        var environment = new Dictionary<string, string> { ["EVALMESH_CACHE"] = Path.Combine(_cluster.Folder, "cache"), ["EVALMESH_HOME"] = Path.Combine(_cluster.Folder, "home") };

        // The CLI's embedded run of the config: one silo in its own process, its own data.
        var data = Path.Combine(_cluster.Folder, "embedded");
        var embedded = await CliRunner.RunAsync(_cluster.Folder, environment, "run", config, "--json", "--data-dir", data, "--out", Path.Combine(_cluster.Folder, "embedded-out"));
        Assert.True(embedded.ExitCode is 0 or 1, $"exit {embedded.ExitCode}\n{embedded.Stderr}");
        var embeddedReport = JsonNode.Parse(embedded.Stdout)!;
        var embeddedRun = embeddedReport["run"]!["runId"]!.GetValue<string>();
        var embeddedCells = await CliRunner.RunAsync(_cluster.Folder, environment, "results", embeddedRun, "--data-dir", data);
        Assert.Equal(0, embeddedCells.ExitCode);

        // The same config through the HTTP client, from another process that has only the HTTP flavour.
        var check = Path.GetDirectoryName(RepoPaths.HttpClientCheck)!;
        Assert.True(File.Exists(Path.Combine(check, "EvalMesh.Client.Http.dll")));
        Assert.False(File.Exists(Path.Combine(check, "EvalMesh.Client.dll")), "the program must not carry the Orleans flavour");
        Assert.False(File.Exists(Path.Combine(check, "StackExchange.Redis.dll")), "the program must not carry a clustering store's client");
        var output = Path.Combine(_cluster.Folder, "http-out");
        var remote = await ProgramRunner.RunAsync(
            "dotnet",
            ["exec", RepoPaths.HttpClientCheck, $"http://127.0.0.1:{_cluster.Silos[0].HttpPort}", config, output],
            workingDirectory: _cluster.Folder,
            environment: new Dictionary<string, string> { ["EVALMESH_API_KEY"] = RunKey });
        Assert.True(remote.ExitCode == 0, $"exit {remote.ExitCode}\n{remote.Stderr}\n{_cluster.Silos[0].Log}");
        var summary = JsonNode.Parse(remote.Stdout)!;
        Assert.Equal("completed", summary["state"]!.GetValue<string>());

        // Progress streamed as the run went, ending complete; the dataset and the suite were sent once, and not again.
        var updates = summary["updates"]!.AsArray().Select(u => u!.GetValue<int>()).ToList();
        Assert.Equal(updates.Order(), updates);
        Assert.Equal(Cells, updates[^1]);
        Assert.Equal(2, summary["uploads"]!.GetValue<int>());
        Assert.Equal(0, summary["uploadsAgain"]!.GetValue<int>());
        Assert.Equal(2, summary["checksAgain"]!.GetValue<int>());

        var remoteReport = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(output, "report.json"), Token))!;
        Assert.Equal(Cells, remoteReport["run"]!["completed"]!.GetValue<int>());
        Assert.Equal(Counts(embeddedReport["run"]!), Counts(remoteReport["run"]!));
        foreach (var part in new[] { "rows", "categories", "comparisons", "recommendations", "notes", "settings" })
        {
            Assert.True(JsonNode.DeepEquals(Comparable(embeddedReport[part]), Comparable(remoteReport[part])), $"the reports' {part} differ:\n{embeddedReport[part]}\n{remoteReport[part]}");
        }

        var embeddedByCell = ByCell(embeddedCells.Stdout);
        var remoteByCell = ByCell(await File.ReadAllTextAsync(Path.Combine(output, "results.jsonl"), Token));
        Assert.Equal(Cells, embeddedByCell.Count);
        Assert.Equal(embeddedByCell.Keys.Order(StringComparer.Ordinal), remoteByCell.Keys.Order(StringComparer.Ordinal));
        foreach (var (cell, result) in embeddedByCell)
        {
            Assert.True(JsonNode.DeepEquals(result, remoteByCell[cell]), $"cell {cell} differs:\n{result}\n{remoteByCell[cell]}");
        }
    }

    [Fact]
    public async Task FinetuneOverHttp_TrainsOnASilo_AndRunsTheMatrixAgainWithTheAdapter_ComparedOnHeldOutCases()
    {
        var config = await ClusterMatrix.WriteWithFilesAsync(Path.Combine(_cluster.Folder, "loop"), messages: 20, seed: 5, casesPerCategory: 2, maxTokens: 4, repeats: 2);
        var url = $"http://127.0.0.1:{_cluster.Silos[0].HttpPort}";
        var environment = new Dictionary<string, string> { ["EVALMESH_HOME"] = Path.Combine(_cluster.Folder, "loop-home"), ["EVALMESH_API_KEY"] = AdminKey };
        var run = await CliRunner.RunAsync(_cluster.Folder, environment, "run", config, "--server", url, "--run-id", "loop-base", "--json", "--out", Path.Combine(_cluster.Folder, "loop-out"));
        Assert.True(run.ExitCode is 0 or 1, $"exit {run.ExitCode}\n{run.Stderr}");

        var loop = await CliRunner.RunAsync(_cluster.Folder, environment, "finetune", "loop-base", "--endpoint", "tiny-a1", "--register", "loop", "--epochs", "1", "--server", url, "--json");
        Assert.True(loop.ExitCode is 0 or 1, $"exit {loop.ExitCode}\n{loop.Stdout}\n{loop.Stderr}");
        var result = JsonNode.Parse(loop.Stdout)!;
        Assert.Equal("completed", result["training"]!["state"]!.GetValue<string>());
        Assert.Equal(1, result["training"]!["epochs"]!.GetValue<int>()); // --epochs went over REST in the request's settings
        Assert.Equal("loop", result["training"]!["adapter"]!["name"]!.GetValue<string>());
        Assert.Equal(3, result["heldOutCases"]!.AsArray().Count);
        Assert.Equal(7, result["trainCases"]!.AsArray().Count);

        // The evaluation run: the same matrix (10 cases × 3 formats × 2 repeats) with a third endpoint, the adapter's.
        Assert.Equal("loop-base-loop", result["evaluationRun"]!.GetValue<string>());
        var status = JsonNode.Parse((await CliRunner.RunAsync(_cluster.Folder, environment, "status", "loop-base-loop", "--server", url, "--json")).Stdout)!;
        Assert.Equal(Cells / 2 * 3, status["total"]!.GetValue<int>());
        Assert.Equal("completed", status["state"]!.GetValue<string>());
        var rows = result["comparison"]!.AsArray();
        Assert.Equal(3, rows.Count);
        Assert.All(rows, r => Assert.Equal(3, r!["paired"]!.GetValue<int>()));

        // A job that is not there is a 404 naming it.
        using var http = new HttpClient { BaseAddress = new Uri(url) };
        http.DefaultRequestHeaders.Add("x-api-key", RunKey);
        using var missing = await http.GetAsync(new Uri("/api/training/nope", UriKind.Relative), Token);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("nope", JsonNode.Parse(await missing.Content.ReadAsStringAsync(Token))!["jobId"]!.GetValue<string>());

        // Settings sent as null are a 400 naming them, not a job that fails later.
        using var admin = new HttpClient { BaseAddress = new Uri(url) };
        admin.DefaultRequestHeaders.Add("x-api-key", AdminKey);
        using var body = new StringContent("""{"model": "tiny-random", "adapterName": "x", "trainingData": "{}", "settings": null}""", System.Text.Encoding.UTF8, "application/json");
        using var nullSettings = await admin.PutAsync(new Uri("/api/training/null-settings", UriKind.Relative), body, Token);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, nullSettings.StatusCode);
        Assert.Contains("'settings'", await nullSettings.Content.ReadAsStringAsync(Token), StringComparison.Ordinal);
    }

    // 10 cases × 3 formats × 2 endpoints × 2 repeats.
    private const int Cells = 120;

    private static (int, int, int, int, int, string?) Counts(JsonNode run) =>
        (run["total"]!.GetValue<int>(), run["completed"]!.GetValue<int>(), run["passed"]!.GetValue<int>(), run["failed"]!.GetValue<int>(), run["errors"]!.GetValue<int>(), run["state"]!.GetValue<string>());

    private static Dictionary<string, JsonNode?> ByCell(string jsonLines) =>
        jsonLines.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToDictionary(r => r["cellId"]!.GetValue<string>(), Comparable);

    /// <summary>A copy without what differs between two runs of the same cells: how long they took and where they ran.</summary>
    private static JsonNode? Comparable(JsonNode? node)
    {
        var copy = node?.DeepClone();
        Strip(copy);
        return copy;

        static void Strip(JsonNode? at)
        {
            switch (at)
            {
                case JsonObject obj:
                    foreach (var name in obj.Select(p => p.Key).Where(k => k.StartsWith("latency", StringComparison.Ordinal) || k == "silo").ToList())
                    {
                        obj.Remove(name);
                    }

                    foreach (var (_, value) in obj)
                    {
                        Strip(value);
                    }

                    break;
                case JsonArray array:
                    foreach (var item in array)
                    {
                        Strip(item);
                    }

                    break;
            }
        }
    }
}
