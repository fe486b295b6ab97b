using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using EvalMesh.Abstractions;
using EvalMesh.Evaluation;
using Microsoft.Extensions.DependencyInjection;

namespace EvalMesh.Client.Tests;

/// <summary>
/// How the HTTP flavour reads the REST API, against a stub handler in place of a silo: the API key and a base path are
/// sent, refusals become the exceptions the Orleans flavour throws, progress is read from server-sent events (and a
/// stream that breaks off is reconnected), results line by line.
/// </summary>
public sealed class HttpClientAnswersTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static readonly RunStatus Running = Status(RunState.Running, 3);
    private static readonly RunStatus Completed = Status(RunState.Completed, 8);

    private static RunStatus Status(RunState state, int completed) =>
        new("r1", state, null, 8, completed, completed, 0, 0, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, null, []);

    private static (IEvalMeshClient Client, Stub Stub) Connect(params Func<HttpRequestMessage, HttpResponseMessage>[] answers)
    {
        var stub = new Stub(answers);
        var services = new ServiceCollection().AddEvalMeshHttpClient(new Uri("http://silo.test/evalmesh"), "the-key");
        services.ConfigureHttpClientDefaults(http => http.ConfigurePrimaryHttpMessageHandler(() => stub));
        return (services.BuildServiceProvider().GetRequiredService<IEvalMeshClient>(), stub);
    }

    private static HttpResponseMessage Json(HttpStatusCode status, string json, string mediaType = "application/json") =>
        new(status) { Content = new StringContent(json, Encoding.UTF8, mediaType) };

    private static HttpResponseMessage Problem(HttpStatusCode status, string title, string detail, string? runId = null) =>
        Json(status, JsonSerializer.Serialize(new { title, status = (int)status, detail, runId }), "application/problem+json");

    [Fact]
    public async Task Requests_CarryTheKey_UnderTheBaseAddresssPath()
    {
        var (client, stub) = Connect(_ => Json(HttpStatusCode.OK, JsonSerializer.Serialize(Completed, ReportWriter.Json)));
        Assert.Equal(RunState.Completed, (await client.GetRunAsync("r 1", Token)).State);
        var request = Assert.Single(stub.Requests);
        Assert.Equal("http://silo.test/evalmesh/api/runs/r%201", request.Uri);
        Assert.Equal("Bearer the-key", request.Authorization);
    }

    [Fact]
    public async Task Refusals_BecomeTheExceptionsTheOrleansFlavourThrows()
    {
        var (client, _) = Connect(
            _ => Problem(HttpStatusCode.NotFound, "no such run", "run 'base' does not exist", runId: "base"),
            _ => Problem(HttpStatusCode.BadRequest, "invalid run config", "request body:2:6: 'formats[0]': unknown format 'csvv'"),
            _ => Problem(HttpStatusCode.BadRequest, "adapter rejected", "the adapter was made for another base model"),
            _ => Problem(HttpStatusCode.Forbidden, "insufficient scope", "the API key 'reader' may not do this: it needs the 'admin' scope"),
            _ => Json(HttpStatusCode.BadRequest, """{"error":{"message":"'max_tokens' must be at least 1","type":"invalid_request_error","param":"max_tokens","code":null}}"""),
            _ => new HttpResponseMessage(HttpStatusCode.BadGateway) { Content = new StringContent("<html>bad gateway</html>") });

        Assert.Equal("base", (await Assert.ThrowsAsync<RunNotFoundException>(() => client.CompareRunsAsync("base", "candidate", cancellationToken: Token))).RunId);
        Assert.Equal("request body:2:6: 'formats[0]': unknown format 'csvv'", (await Assert.ThrowsAsync<EvalMeshInputException>(() => client.ResumeRunAsync("r1", Token))).Message);
        Assert.Equal("the adapter was made for another base model", (await Assert.ThrowsAsync<AdapterRejectedException>(() => client.RegisterAdapterAsync("tiny-random", "a", "/models/a.gguf", Token))).Message);
        var forbidden = await Assert.ThrowsAsync<EvalMeshServerException>(() => client.EvictAdapterAsync("tiny-random:adapter-1", Token));
        Assert.Equal((403, "insufficient scope", "the API key 'reader' may not do this: it needs the 'admin' scope (HTTP 403 insufficient scope)"), (forbidden.Status, forbidden.Title, forbidden.Message));
        Assert.Equal("'max_tokens' must be at least 1", (await Assert.ThrowsAsync<EvalMeshInputException>(() => client.InferAsync("tiny-random", "hi", cancellationToken: Token))).Message);
        Assert.Equal(502, (await Assert.ThrowsAsync<EvalMeshServerException>(() => client.ListRunsAsync(Token))).Status);
    }

    [Fact]
    public async Task WatchRunAsync_ReadsServerSentEvents_ReconnectsWhenTheStreamBreaksOff_AndEndsAtTheFinalStatus()
    {
        static HttpResponseMessage Events(params RunStatus[] statuses) => Json(
            HttpStatusCode.OK,
            ": a comment\n\n" + string.Concat(statuses.Select(s => $"event: status\ndata: {JsonSerializer.Serialize(s, ReportWriter.JsonLine)}\n\n")) + "event: other\ndata: {}\n\n",
            "text/event-stream");
        var (client, stub) = Connect(_ => Events(Running), _ => Events(Running, Completed), _ => throw new InvalidOperationException("no third request"));

        var seen = new List<int>();
        await foreach (var status in client.WatchRunAsync("r1", TimeSpan.FromMilliseconds(100), Token))
        {
            seen.Add(status.Completed);
        }

        Assert.Equal([3, 3, 8], seen);
        Assert.All(stub.Requests, r => Assert.Equal("http://silo.test/evalmesh/api/runs/r1/events?intervalMs=100", r.Uri));
        Assert.Equal(2, stub.Requests.Count);
    }

    [Fact]
    public async Task GetResultsAsync_ReadsOneCellALine()
    {
        var cell = new CellResult("s/q1/csv/echo/1", "s", "q1", "csv", "echo", 1, [], CellOutcome.Passed, 1, "ok", "ana", ["ana"], new Dictionary<string, int> { ["o200k_base"] = 12 }, null, 1.5, "silo", "Q?", "exact");
        var line = JsonSerializer.Serialize(cell, ReportWriter.JsonLine);
        var (client, _) = Connect(_ => Json(HttpStatusCode.OK, $"{line}\n\n{line.Replace("q1", "q2", StringComparison.Ordinal)}\n", "application/x-ndjson"));
        var cells = new List<CellResult>();
        await foreach (var result in client.GetResultsAsync("r1", Token))
        {
            cells.Add(result);
        }

        Assert.Equal(["s/q1/csv/echo/1", "s/q2/csv/echo/1"], cells.Select(c => c.CellId));
        Assert.Equal(12, cells[0].PromptTokens["o200k_base"]);
        Assert.Equal(CellOutcome.Passed, cells[1].Outcome);
    }

    /// <summary>Answers requests in turn with the given answers, recording each request.</summary>
    private sealed class Stub(Func<HttpRequestMessage, HttpResponseMessage>[] answers) : HttpMessageHandler
    {
        private int _next;

        public ConcurrentQueue<(string Uri, string? Authorization)> Requests { get; } = new();

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requests.Enqueue((request.RequestUri!.AbsoluteUri, request.Headers.Authorization?.ToString()));
            return Task.FromResult(answers[Math.Min(_next++, answers.Length - 1)](request));
        }
    }
}
