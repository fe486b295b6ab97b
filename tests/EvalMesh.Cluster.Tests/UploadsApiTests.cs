using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using EvalMesh.Client;
using EvalMesh.Evaluation.Datasets;
using EvalMesh.Testing;

namespace EvalMesh.Cluster.Tests;

/// <summary>A silo process with a read key, a run key and a 64 KB body limit, for the upload API and runs that name uploads.</summary>
public sealed class UploadsSilo : IAsyncLifetime
{
    public string Folder { get; } = Directory.CreateTempSubdirectory("evalmesh-uploads-").FullName;

    public const int MaxBodyBytes = 64 * 1024;
    public const string ReadKey = "read-key-1e9a4c7f3b5d2806";
    public const string RunKey = "run-key-6b3f8d1a5c9e2704";

    public SiloProcess Silo { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Silo = await SiloProcess.StartEmbeddedAsync(Path.Combine(Folder, "data"), ApiKeys.Environment(
        [("reader", ReadKey, "Read"), ("runner", RunKey, "Run")],
        new Dictionary<string, string>
        {
            ["EVALMESH_CACHE"] = Path.Combine(Folder, "cache"),
            ["EvalMesh__Security__MaxRequestBodyBytes"] = MaxBodyBytes.ToString(CultureInfo.InvariantCulture),
        }));

    public async ValueTask DisposeAsync()
    {
        await Silo.DisposeAsync();
        Directory.Delete(Folder, recursive: true);
    }

    public Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? key, HttpContent? content = null) =>
        Silo.SendAsync(method, path, key, content, TestContext.Current.CancellationToken);
}

/// <summary>
/// Content-addressed uploads over real HTTP: each bad upload (a key without the scope, a content id that is not its
/// content's, a body over the limit, content that is no dataset or suite) is a 4xx naming what is wrong and stores
/// nothing; a config naming an upload that is not there starts nothing; one naming uploads runs, its progress streamed.
/// </summary>
public sealed class UploadsApiTests(UploadsSilo uploads) : IClassFixture<UploadsSilo>
{
    private const string Records = """
        {"id": 1, "user": "ana", "text": "hello"}
        {"id": 2, "user": "bo", "text": "world"}
        {"id": 3, "user": "cy", "text": "again"}

        """;

    // Two cases as a client sends them (UploadContent.Suite): all of each case's fields, defaults included.
    private static readonly string Cases = UploadContent.Suite("s", UploadContent.ReadCases(
        """[{"id":"q1","question":"Who wrote hello?","expected":["ana"],"scorer":{"type":"contains"},"tags":["user"]},{"id":"q2","question":"Who wrote world?","expected":["bo"],"scorer":{"type":"exact"},"tags":[]}]""",
        "test")).Content;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static string DatasetId(string jsonLines) => Dataset.Create("d", DatasetReader.ParseJsonLines(jsonLines, "test")).Id;

    [Fact]
    public async Task PutDataset_EachBadUpload_Is4xxNamingWhatIsWrong_AndStoresNothing_AGoodOneIsStoredOnce()
    {
        // Records of its own, so that the other tests' uploads do not count.
        var records = Records.Replace("again", "once more", StringComparison.Ordinal);
        var id = DatasetId(records);
        var other = DatasetId("{\"id\": 9}\n");

        var forbidden = await uploads.SendAsync(HttpMethod.Put, $"/api/datasets/{id}", UploadsSilo.ReadKey, new StringContent(records));
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        Assert.Contains("it needs the 'run' scope", await DetailAsync(forbidden), StringComparison.Ordinal);

        var mismatch = await uploads.SendAsync(HttpMethod.Put, $"/api/datasets/{other}", UploadsSilo.RunKey, new StringContent(records));
        Assert.Equal(HttpStatusCode.BadRequest, mismatch.StatusCode);
        Assert.Equal($"request body: the dataset's content id is {id}, not {other}: a content id names exactly one content, so send it as {id}", await DetailAsync(mismatch));

        var huge = string.Concat(Enumerable.Range(0, 3000).Select(i => $"{{\"id\": {i}, \"text\": \"{new string('x', 20)}\"}}\n"));
        var tooLarge = await uploads.SendAsync(HttpMethod.Put, $"/api/datasets/{DatasetId(huge)}", UploadsSilo.RunKey, new StringContent(huge));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);
        Assert.Equal("the request body is larger than this silo accepts: at most 65,536 bytes (EvalMesh:Security:MaxRequestBodyBytes, environment variable EvalMesh__Security__MaxRequestBodyBytes)", await DetailAsync(tooLarge));

        var broken = await uploads.SendAsync(HttpMethod.Put, $"/api/datasets/{id}", UploadsSilo.RunKey, new StringContent("{\"id\": 1}\n{\"id\": oops}\n"));
        Assert.Equal(HttpStatusCode.BadRequest, broken.StatusCode);
        Assert.Equal("request body:2:8: invalid JSON: 'o' is an invalid start of a value.", await DetailAsync(broken));

        var empty = await uploads.SendAsync(HttpMethod.Put, $"/api/datasets/{id}", UploadsSilo.RunKey, new StringContent("\n"));
        Assert.Equal("request body: the dataset holds no records", await DetailAsync(empty));

        var notAnId = await uploads.SendAsync(HttpMethod.Put, "/api/datasets/..%2Fetc", UploadsSilo.RunKey, new StringContent(records));
        Assert.Equal(HttpStatusCode.BadRequest, notAnId.StatusCode);

        foreach (var refused in new[] { id, other, DatasetId(huge) })
        {
            Assert.Equal(HttpStatusCode.NotFound, (await uploads.SendAsync(HttpMethod.Head, $"/api/datasets/{refused}", UploadsSilo.ReadKey)).StatusCode);
        }

        Assert.Equal(HttpStatusCode.Created, (await uploads.SendAsync(HttpMethod.Put, $"/api/datasets/{id}?name=people", UploadsSilo.RunKey, new StringContent(records))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await uploads.SendAsync(HttpMethod.Put, $"/api/datasets/{id}", UploadsSilo.RunKey, new StringContent(records))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await uploads.SendAsync(HttpMethod.Head, $"/api/datasets/{id}", UploadsSilo.ReadKey)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await uploads.SendAsync(HttpMethod.Head, $"/api/datasets/{id}", null)).StatusCode);
    }

    [Fact]
    public async Task PutSuite_ChecksItsIdAndCases_StoresNothingBad_AndAnswersWhatItStored()
    {
        // Cases of their own, so that the other tests' uploads do not count.
        var cases = Cases.Replace("Who wrote hello?", "Who said hello first?", StringComparison.Ordinal);
        var id = Abstractions.ContentId.Of(cases);

        var mismatch = await uploads.SendAsync(HttpMethod.Put, "/api/suites/0123456789abcdef", UploadsSilo.RunKey, new StringContent(cases));
        Assert.Equal(HttpStatusCode.BadRequest, mismatch.StatusCode);
        Assert.StartsWith($"request body: the suite's content id is {id}, not 0123456789abcdef", await DetailAsync(mismatch), StringComparison.Ordinal);

        var misspelt = cases.Replace("\"exact\"", "\"exakt\"", StringComparison.Ordinal);
        var unknown = await uploads.SendAsync(HttpMethod.Put, $"/api/suites/{Abstractions.ContentId.Of(misspelt)}", UploadsSilo.RunKey, new StringContent(misspelt));
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.StartsWith("request body: '[1].scorer': unknown scorer 'exakt' (did you mean 'exact'?)", await DetailAsync(unknown), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await uploads.SendAsync(HttpMethod.Head, $"/api/suites/{Abstractions.ContentId.Of(misspelt)}", UploadsSilo.ReadKey)).StatusCode);

        var badKey = cases.Replace("\"tags\":[]", "\"tagz\":[]", StringComparison.Ordinal);
        var unmapped = await uploads.SendAsync(HttpMethod.Put, $"/api/suites/{Abstractions.ContentId.Of(badKey)}", UploadsSilo.RunKey, new StringContent(badKey));
        Assert.Equal(HttpStatusCode.BadRequest, unmapped.StatusCode);
        Assert.Contains("'tagz'", await DetailAsync(unmapped), StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.NotFound, (await uploads.SendAsync(HttpMethod.Get, $"/api/suites/{id}", UploadsSilo.ReadKey)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await uploads.SendAsync(HttpMethod.Put, $"/api/suites/{id}", UploadsSilo.RunKey, new StringContent(cases))).StatusCode);
        Assert.Equal(cases, await (await uploads.SendAsync(HttpMethod.Get, $"/api/suites/{id}", UploadsSilo.ReadKey)).Content.ReadAsStringAsync(Token));
    }

    [Fact]
    public async Task PostRuns_NamingAnUploadThatIsNotThere_StartsNothing_NamingUploadsRuns_WithProgressAsServerSentEvents()
    {
        var datasetId = DatasetId(Records);
        var suiteId = Abstractions.ContentId.Of(Cases);
        Assert.True((await uploads.SendAsync(HttpMethod.Put, $"/api/datasets/{datasetId}", UploadsSilo.RunKey, new StringContent(Records))).IsSuccessStatusCode);
        string Config(string suite) => $"""
            datasets:
              - name: people
                upload: {datasetId}
            suites:
              - name: who
                dataset: people
                upload: {suite}
            formats: [csv, toon]
            endpoints:
              - name: echo
                type: echo
            """;
        var runsBefore = await RunCountAsync();

        var missing = await uploads.SendAsync(HttpMethod.Post, "/api/runs", UploadsSilo.RunKey, new StringContent(Config("fedcba9876543210")));
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.StartsWith("request body: 'suites[0].upload': no suite has been uploaded as fedcba9876543210", await DetailAsync(missing), StringComparison.Ordinal);
        var notAnId = await uploads.SendAsync(HttpMethod.Post, "/api/runs", UploadsSilo.RunKey, new StringContent(Config("not-a-hash")));
        Assert.Equal("request body:7:13: 'suites[0].upload': expected the content id of an uploaded suite: 16 hexadecimal digits (0-9, a-f)", await DetailAsync(notAnId));
        Assert.Equal(HttpStatusCode.Forbidden, (await uploads.SendAsync(HttpMethod.Post, "/api/runs", UploadsSilo.ReadKey, new StringContent(Config(suiteId)))).StatusCode);
        Assert.Equal(runsBefore, await RunCountAsync());

        Assert.True((await uploads.SendAsync(HttpMethod.Put, $"/api/suites/{suiteId}", UploadsSilo.RunKey, new StringContent(Cases))).IsSuccessStatusCode);
        var created = await uploads.SendAsync(HttpMethod.Post, "/api/runs?runId=uploaded-run", UploadsSilo.RunKey, new StringContent(Config(suiteId)));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("uploaded-run", (await created.Content.ReadFromJsonAsync<JsonElement>(Token)).GetProperty("id").GetString());

        // The status arrives as server-sent events until the run ends, the last one final.
        var events = await uploads.SendAsync(HttpMethod.Get, "/api/runs/uploaded-run/events?intervalMs=50", UploadsSilo.ReadKey);
        Assert.Equal("text/event-stream", events.Content.Headers.ContentType?.MediaType);
        var statuses = (await events.Content.ReadAsStringAsync(Token)).Split('\n')
            .Where(l => l.StartsWith("data: ", StringComparison.Ordinal))
            .Select(l => JsonDocument.Parse(l["data: ".Length..]).RootElement)
            .ToList();
        Assert.Equal("completed", statuses[^1].GetProperty("state").GetString());
        Assert.Equal(4, statuses[^1].GetProperty("completed").GetInt32());
        // Echo answers with its prompt, which holds every record: it contains "ana" (q1 passes) but is not "bo" (q2 fails).
        Assert.Equal((2, 2), (statuses[^1].GetProperty("passed").GetInt32(), statuses[^1].GetProperty("failed").GetInt32()));
        Assert.Equal(HttpStatusCode.NotFound, (await uploads.SendAsync(HttpMethod.Get, "/api/runs/nope/events", UploadsSilo.ReadKey)).StatusCode);
    }

    [Fact]
    public async Task CliWithServer_AKeyWithoutTheScope_ABodyOverTheLimit_AMissingUpload_EachExitTwoNamingIt_AndStartNothing()
    {
        var folder = Directory.CreateTempSubdirectory("evalmesh-scope-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(folder, "people.jsonl"), "{\"id\": 41, \"user\": \"dee\"}\n", Token);
            var config = Path.Combine(folder, "run.yaml");
            await File.WriteAllTextAsync(config, """
                datasets:
                  - name: people
                    path: people.jsonl
                suites:
                  - name: who
                    dataset: people
                    cases:
                      - question: Who is 41?
                        expected: dee
                formats: [csv]
                endpoints:
                  - name: echo
                    type: echo
                """, Token);
            string[] server = ["--server", $"http://127.0.0.1:{uploads.Silo.HttpPort}"];
            var runsBefore = await RunCountAsync();
            var environment = new Dictionary<string, string> { ["EVALMESH_HOME"] = Path.Combine(folder, "home"), ["READ_KEY"] = UploadsSilo.ReadKey, ["WRONG_KEY"] = "wrong-key-00000000000000" };

            var reader = await CliRunner.RunAsync(folder, environment, ["run", config, .. server, "--api-key-env", "READ_KEY"]);
            Assert.Equal(2, reader.ExitCode);
            Assert.Equal("evalmesh: error: the API key 'reader' may not do this: it needs the 'run' scope (HTTP 403 insufficient scope)", Assert.Single(reader.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
            Assert.Equal(HttpStatusCode.NotFound, (await uploads.SendAsync(HttpMethod.Head, $"/api/datasets/{DatasetId("{\"id\": 41, \"user\": \"dee\"}\n")}", UploadsSilo.ReadKey)).StatusCode);

            var wrong = await CliRunner.RunAsync(folder, environment, ["runs", .. server, "--api-key-env", "WRONG_KEY"]);
            Assert.Equal(2, wrong.ExitCode);
            Assert.Contains("the API key is not valid", wrong.Stderr, StringComparison.Ordinal);
            var unset = await CliRunner.RunAsync(folder, environment, ["runs", .. server, "--api-key-env", "NO_SUCH_VARIABLE"]);
            Assert.Equal((2, "evalmesh: error: '--api-key-env': the environment variable NO_SUCH_VARIABLE is not set\n"), (unset.ExitCode, unset.Stderr));

            // With the run scope (from EVALMESH_API_KEY) it runs; echo's answer is its whole prompt, so the cell fails: exit 1.
            var withRunKey = new Dictionary<string, string>(environment) { ["EVALMESH_API_KEY"] = UploadsSilo.RunKey };
            var runner = await CliRunner.RunAsync(folder, withRunKey, ["run", config, .. server, "--json"]);
            Assert.True(runner.ExitCode == 1, runner.Stderr);

            // A dataset over the silo's body limit, and a config naming an upload that is not there: exit 2, one line each.
            await File.WriteAllLinesAsync(Path.Combine(folder, "people.jsonl"), Enumerable.Range(0, 3000).Select(i => $"{{\"id\": {i}, \"user\": \"{new string('x', 20)}\"}}"), Token);
            var tooLarge = await CliRunner.RunAsync(folder, withRunKey, ["run", config, .. server]);
            Assert.Equal((2, "evalmesh: error: the request body is larger than this silo accepts: at most 65,536 bytes (EvalMesh:Security:MaxRequestBodyBytes, environment variable EvalMesh__Security__MaxRequestBodyBytes) (HTTP 413 request body too large)\n"), (tooLarge.ExitCode, tooLarge.Stderr));
            await File.WriteAllTextAsync(config, (await File.ReadAllTextAsync(config, Token)).Replace("path: people.jsonl", "upload: 0123456789abcdef", StringComparison.Ordinal), Token);
            var missing = await CliRunner.RunAsync(folder, withRunKey, ["run", config, .. server]);
            Assert.Equal(2, missing.ExitCode);
            Assert.StartsWith($"evalmesh: error: {config}: 'datasets[0].upload': no dataset has been uploaded as 0123456789abcdef", Assert.Single(missing.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
            Assert.Equal(1, await RunCountAsync() - runsBefore);
            Assert.Equal("completed", JsonDocument.Parse(runner.Stdout).RootElement.GetProperty("run").GetProperty("state").GetString());
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private async Task<int> RunCountAsync() =>
        (await (await uploads.SendAsync(HttpMethod.Get, "/api/runs", UploadsSilo.ReadKey)).Content.ReadFromJsonAsync<JsonElement>(Token)).GetArrayLength();

    private static async Task<string?> DetailAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync(Token)).RootElement.GetProperty("detail").GetString();
}
