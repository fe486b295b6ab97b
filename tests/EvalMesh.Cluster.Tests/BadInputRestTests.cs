using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using EvalMesh.Testing;

namespace EvalMesh.Cluster.Tests;

/// <summary>
/// The bad-input corpus (tests/EvalMesh.Testing/BadInputs) through the REST API of a real silo process: every entry the
/// CLI rejects, <c>POST /api/runs</c> answers with 400 ProblemDetails naming the same, and afterwards the same silo still
/// runs a good config to the end, with no trace of the bad ones.
/// </summary>
public sealed class BadInputRestTests : IAsyncLifetime
{
    private readonly string _folder = BadInputCorpus.CopyToTemporaryFolder();
    private SiloProcess _silo = null!;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    // The silo runs in the corpus folder, so that relative paths in a posted config find the corpus, as the CLI's do.
    public async ValueTask InitializeAsync() => _silo = await SiloProcess.StartEmbeddedAsync(
        Path.Combine(_folder, "data"), new Dictionary<string, string> { ["EVALMESH_CACHE"] = Path.Combine(_folder, "cache") }, workingDirectory: _folder);

    public async ValueTask DisposeAsync()
    {
        await _silo.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task PostRuns_EveryBadInput_Is400ProblemDetailsNamingTheSame_AndAGoodRunStillWorksAfterwards()
    {
        var config = Path.Combine(_folder, "request-body.yaml");
        var wrong = new List<string>();
        foreach (var input in BadInputCorpus.Entries.Where(e => e.Status is not null))
        {
            using var response = await _silo.Http.PostAsync("/api/runs", new StringContent(await File.ReadAllTextAsync(Path.Combine(_folder, input.Config), Token)), Token);
            var body = await response.Content.ReadAsStringAsync(Token);
            var detail = response.Content.Headers.ContentType?.MediaType == "application/problem+json"
                ? JsonDocument.Parse(body).RootElement.GetProperty("detail").GetString()
                : null;
            if ((int)response.StatusCode != input.Status || detail is null || !input.Matches(detail, config, _folder))
            {
                wrong.Add($"{input.Entry}: expected {input.Status} {input.Message}\n  but got {(int)response.StatusCode} {detail ?? body}");
            }
        }

        Assert.True(wrong.Count == 0, string.Join('\n', wrong) + "\n" + _silo.Log);

        var created = await _silo.Http.PostAsync("/api/runs", new StringContent(TestConfigs.SmallEchoRun), Token);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>(Token)).GetProperty("id").GetString()!;
        JsonElement status = default;
        await Poll.UntilAsync(async () => (status = await _silo.Http.GetFromJsonAsync<JsonElement>($"/api/runs/{id}", Token)).GetProperty("state").GetString() == "completed", TimeSpan.FromMinutes(1), "the good run to complete");
        Assert.Equal((5, 5), (status.GetProperty("total").GetInt32(), status.GetProperty("completed").GetInt32()));
        var runs = await _silo.Http.GetFromJsonAsync<JsonElement>("/api/runs", Token);
        Assert.Equal([id], runs.EnumerateArray().Select(r => r.GetProperty("runId").GetString()));
    }
}
