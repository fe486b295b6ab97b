using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using EvalMesh.Testing;

namespace EvalMesh.Cluster.Tests;

/// <summary>
/// A real redis-server, three silo processes clustered through it, and a 3,000-cell run (the tiny model with an
/// adapter, and echo) started from the CLI as an Orleans client: a new cluster for each test case, which then breaks a
/// part of it while the run goes.
/// </summary>
public abstract class ThreeSiloRuns(string name) : IAsyncLifetime
{
    protected const int Cells = 3_000;

    // Longer than a silo's loss or a 10 s Redis outage take to recover from, short enough for a test.
    protected static readonly TimeSpan StallDeadline = TimeSpan.FromSeconds(30);

    // The silos' REST API allows a client address 600 requests a minute (EvalMesh:Security:RequestsPerMinute): polled
    // every 50 ms, a run slower than 30 s to reach a point got only 429s for the rest of the minute.
    protected static readonly TimeSpan ApiPollInterval = TimeSpan.FromMilliseconds(250);

    protected SiloProcessCluster Cluster { get; } = new(name);

    protected List<SiloProcess> Silos => Cluster.Silos;

    protected static CancellationToken Token => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        await Cluster.StartAsync(silos: 3, new Dictionary<string, string> { ["EvalMesh__StallDeadline"] = StallDeadline.ToString("c", CultureInfo.InvariantCulture) });
        await ClusterMatrix.WriteAsync(Cluster.Folder, messages: 12, seed: 9, casesPerCategory: 10, maxTokens: 2, repeats: 10);
    }

    public async ValueTask DisposeAsync()
    {
        await Cluster.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    // Starts the matrix from the CLI and waits until a third of it is done: the echo half finishes at once, so the
    // run is then in the middle of the model's half.
    protected async Task<(Task<ProgramResult> Cli, string RunId)> StartRunPastAThirdAsync(SiloProcess watcher)
    {
        var earlier = await RunIdsAsync(watcher);
        var cli = CliRunner.RunAsync(Cluster.Folder, ["run", "matrix.yaml", .. Cluster.CliArguments, "--json"]);
        var runId = await WaitForAsync(async () => (await RunIdsAsync(watcher)).Except(earlier).FirstOrDefault(), "the run to start");
        await Poll.UntilAsync(async () => await CompletedAsync(watcher, runId) >= Cells / 3, TimeSpan.FromMinutes(5), "a third of the run", interval: ApiPollInterval);
        return (cli, runId);
    }

    protected static async Task<int> CompletedAsync(SiloProcess silo, string runId) =>
        (await silo.Http.GetFromJsonAsync<JsonElement>($"/api/runs/{runId}", Token)).GetProperty("completed").GetInt32();

    private static async Task<List<string>> RunIdsAsync(SiloProcess silo) =>
        [.. (await silo.Http.GetFromJsonAsync<JsonElement>("/api/runs", Token)).EnumerateArray().Select(r => r.GetProperty("runId").GetString()!)];

    private static async Task<T> WaitForAsync<T>(Func<Task<T?>> probe, string what)
        where T : class
    {
        T? found = null;
        await Poll.UntilAsync(async () => (found = await probe()) is not null, TimeSpan.FromMinutes(2), what, interval: ApiPollInterval);
        return found!;
    }
}
