using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using EvalMesh.Testing;

namespace EvalMesh.Cluster.Tests;

/// <summary>
/// The bad-input corpus (tests/EvalMesh.Testing/BadInputs) through a real silo process. Every config the CLI rejects,
/// <c>POST /api/runs</c> answers with 400 ProblemDetails naming the same, the request body in place of the file; every
/// dataset and suite file, <c>evalmesh run --server</c> rejects on the client's machine as the local CLI does. The silo
/// runs in the corpus folder, so that it could read those files if it read any a config names: it does not. Afterwards
/// the same silo still runs a good config to the end, with no trace of the bad ones.
/// </summary>
public sealed class BadInputRestTests : IAsyncLifetime
{
    private readonly string _folder = BadInputCorpus.CopyToTemporaryFolder();
    private SiloProcess _silo = null!;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _silo = await SiloProcess.StartEmbeddedAsync(
        Path.Combine(_folder, "data"), new Dictionary<string, string> { ["EVALMESH_CACHE"] = Path.Combine(_folder, "cache") }, workingDirectory: _folder);

    public async ValueTask DisposeAsync()
    {
        await _silo.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task EveryBadInput_IsRejectedNamingTheSameOverRest_NothingIsLeft_AndAGoodRunStillWorksAfterwards()
    {
        var wrong = new List<string>();
        foreach (var input in BadInputCorpus.Entries.Where(e => e.Status is not null))
        {
            var (status, detail) = await PostAsync(await File.ReadAllTextAsync(Path.Combine(_folder, input.Config), Token));
            if (status != input.Status || detail is null || !input.Matches(detail, "request body", _folder))
            {
                wrong.Add($"{input.Entry}: expected {input.Status} {input.Message}\n  but got {status} {detail}");
            }
        }

        // A dataset or suite file is the client's: the CLI reads it before anything is sent, exactly as it does locally.
        var files = BadInputCorpus.Entries.Where(e => e.Status is null && e.Config != e.Entry).ToList();
        await Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = Token }, async (input, _) =>
        {
            var config = Path.Combine(_folder, input.Config);
            var result = await CliRunner.RunAsync(_folder, new Dictionary<string, string> { ["EVALMESH_HOME"] = Path.Combine(_folder, "home") }, "run", config, "--server", $"http://127.0.0.1:{_silo.HttpPort}");
            var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            if (result.ExitCode != input.ExitCode || lines.Length != 1 || !input.Matches(lines[0]["evalmesh: error: ".Length..], config, _folder))
            {
                lock (wrong)
                {
                    wrong.Add($"{input.Entry} with --server: expected exit {input.ExitCode} and {input.Message}\n  but got exit {result.ExitCode} and {result.Stderr}");
                }
            }

            // Sent as it is, its config is refused at the file it names, which the silo never reads though it could.
            var (status, detail) = await PostAsync(await File.ReadAllTextAsync(config, Token));
            if (status != 400 || detail?.StartsWith("request body:", StringComparison.Ordinal) != true || !detail.Contains("cannot name", StringComparison.Ordinal) || detail.Contains(_folder, StringComparison.Ordinal))
            {
                lock (wrong)
                {
                    wrong.Add($"{input.Entry} posted: expected 400 refusing its file, but got {status} {detail}");
                }
            }
        });

        // A JSON Lines file sent as an upload is checked as the CLI checks the file, the request body named in its place.
        foreach (var input in BadInputCorpus.Entries.Where(e => e.Entry.EndsWith(".jsonl", StringComparison.Ordinal) && File.Exists(Path.Combine(_folder, e.Entry)) && !e.Message.Contains("no records", StringComparison.Ordinal)))
        {
            using var response = await _silo.Http.PutAsync("/api/datasets/0123456789abcdef", new StringContent(await File.ReadAllTextAsync(Path.Combine(_folder, input.Entry), Token)), Token);
            var detail = await DetailAsync(response);
            var expected = input.Message.Replace($"{{dir}}/{input.Entry}", "request body", StringComparison.Ordinal);
            if (response.StatusCode != HttpStatusCode.BadRequest || detail != expected)
            {
                wrong.Add($"{input.Entry} uploaded: expected 400 {expected}\n  but got {(int)response.StatusCode} {detail}");
            }
        }

        Assert.True(wrong.Count == 0, string.Join('\n', wrong) + "\n" + _silo.Log);
        Assert.Equal(HttpStatusCode.NotFound, (await _silo.Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/api/datasets/0123456789abcdef"), Token)).StatusCode);
        Assert.Empty(await _silo.Http.GetFromJsonAsync<JsonElement[]>("/api/runs", Token) ?? []);

        var created = await _silo.Http.PostAsync("/api/runs", new StringContent(TestConfigs.SmallEchoRun), Token);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>(Token)).GetProperty("id").GetString()!;
        JsonElement run = default;
        await Poll.UntilAsync(async () => (run = await _silo.Http.GetFromJsonAsync<JsonElement>($"/api/runs/{id}", Token)).GetProperty("state").GetString() == "completed", TimeSpan.FromMinutes(1), "the good run to complete");
        Assert.Equal((5, 5), (run.GetProperty("total").GetInt32(), run.GetProperty("completed").GetInt32()));
        var runs = await _silo.Http.GetFromJsonAsync<JsonElement>("/api/runs", Token);
        Assert.Equal([id], runs.EnumerateArray().Select(r => r.GetProperty("runId").GetString()));
    }

    private async Task<(int Status, string? Detail)> PostAsync(string config)
    {
        using var response = await _silo.Http.PostAsync("/api/runs", new StringContent(config), Token);
        return ((int)response.StatusCode, await DetailAsync(response));
    }

    private static async Task<string?> DetailAsync(HttpResponseMessage response) =>
        response.Content.Headers.ContentType?.MediaType == "application/problem+json"
            ? JsonDocument.Parse(await response.Content.ReadAsStringAsync(Token)).RootElement.GetProperty("detail").GetString()
            : null;
}
