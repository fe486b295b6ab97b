using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using EvalMesh.Testing;
using Microsoft.AspNetCore.Http;

namespace EvalMesh.Cli.Tests;

/// <summary>
/// A run against an OpenAI-compatible endpoint on loopback that answers with 429s (Retry-After), 500s, hangs past the
/// timeout, malformed bodies and dropped connections (one request in five), and always fails one of the questions. The run completes; every
/// cell that got an answer is right, the doomed ones are errors (never wrong answers), a 429's retry waits for its
/// Retry-After, and <c>evalmesh run --resume</c> re-runs exactly the errored cells once the endpoint is healthy.
/// </summary>
public sealed class EndpointFaultTests : ScriptedEndpointRuns
{
    private const int Cases = 24, Repeats = 2;
    private const string Doomed = "q05";
    private readonly ConcurrentDictionary<string, DateTimeOffset> _rateLimitedAt = new(StringComparer.Ordinal);
    private int _requests;

    // Each request's identity: its prompt and seed (the repeat).
    private static string Identity(JsonObject body) => $"{body["messages"]![0]!["content"]}#{body["seed"]}";

    // A fault for one request in five, by arrival, each kind in turn; the doomed question always fails.
    private async Task FaultyAsync(HttpContext context)
    {
        var body = ScriptedOpenAiServer.RequestBody(context);
        var question = body["messages"]![0]!["content"]!.GetValue<string>();
        var fault = question.Contains($"({Doomed})", StringComparison.Ordinal) ? 6 : Interlocked.Increment(ref _requests) % 25;
        switch (fault)
        {
            case 1:
                _rateLimitedAt.TryAdd(Identity(body), DateTimeOffset.UtcNow);
                await ScriptedOpenAiServer.Status(429, retryAfter: "1")(context);
                break;
            case 6:
                await ScriptedOpenAiServer.Status(500)(context);
                break;
            case 11:
                await ScriptedOpenAiServer.Body("""{"choices":[{"message":{"content":""")(context);
                break;
            case 16:
                await ScriptedOpenAiServer.DropMidBody()(context);
                break;
            case 21:
                await ScriptedOpenAiServer.Hang(TimeSpan.FromSeconds(5))(context);
                break;
            default:
                await ScriptedOpenAiServer.Completion("OK")(context);
                break;
        }
    }

    [Fact]
    public async Task RunAgainstAFaultyEndpoint_Completes_ErrorsAreNeverWrongAnswers_AndResumeRerunsOnlyTheErrors()
    {
        WriteConfig("faults.yaml", Cases, Repeats, "timeout-seconds: 1", "max-concurrency: 4");
        Endpoint.Default = FaultyAsync;

        var first = await Run("run", "faults.yaml", "--json");
        Assert.True(first.ExitCode == 1, $"exit {first.ExitCode}: {first.Stderr}");
        var status = JsonDocument.Parse(first.Stdout).RootElement.GetProperty("run");
        var runId = status.GetProperty("runId").GetString()!;
        Assert.Equal("completed", status.GetProperty("state").GetString());
        var results = await ResultsAsync(runId);
        Assert.Equal(Cases * Repeats, results.Count);
        Assert.DoesNotContain(results, r => r.GetProperty("outcome").GetString() == "failed");
        var errored = results.Where(r => r.GetProperty("outcome").GetString() == "error").ToList();
        Assert.Equal(Enumerable.Repeat(Doomed, Repeats), errored.Select(r => r.GetProperty("caseId").GetString()));
        Assert.All(errored, r => Assert.Contains("HTTP 500", r.GetProperty("reason").GetString(), StringComparison.Ordinal));

        // Every 429'd request came back no sooner than its Retry-After.
        Assert.NotEmpty(_rateLimitedAt);
        foreach (var (identity, at) in _rateLimitedAt)
        {
            var retry = Endpoint.Requests.Where(r => Identity(r.Body) == identity && r.At > at).Min(r => r.At);
            Assert.True(retry - at >= TimeSpan.FromMilliseconds(950), $"retried {(retry - at).TotalMilliseconds:0} ms after a 429 with Retry-After: 1");
        }

        // Healthy again: resuming asks the endpoint for the errored cells only, and they pass.
        Endpoint.Default = ScriptedOpenAiServer.Completion("OK");
        var before = Endpoint.Requests.Count;
        var resumed = await Run("run", "--resume", runId, "--json");
        Assert.True(resumed.ExitCode == 0, $"exit {resumed.ExitCode}: {resumed.Stderr}");
        Assert.Equal(errored.Count, Endpoint.Requests.Count - before);
        Assert.All(await ResultsAsync(runId), r => Assert.Equal("passed", r.GetProperty("outcome").GetString()));
    }

    [Fact]
    public async Task AnEndpointThatFailsForAWhile_OpensTheCircuit_SoItGetsNoLoad_ThenTheRunRecoversWithEveryCell()
    {
        // The outage is counted in requests, not seconds, so that it is the same on any machine: the endpoint answers
        // 503 to its first eight, as many as open the circuit (at least eight attempts in 10 s, half of them failed),
        // then OK. No attempt times out here, so no request is sent again for being slow.
        const int Cells = 12, Outage = 8;
        WriteConfig("outage.yaml", Cells, repeats: 1, "timeout-seconds: 60", "max-concurrency: 4");
        var arrived = 0;
        Endpoint.Default = context => Interlocked.Increment(ref arrived) <= Outage
            ? ScriptedOpenAiServer.Status(503)(context)
            : ScriptedOpenAiServer.Completion("OK")(context);

        var run = await Run("run", "outage.yaml", "--json");

        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}: {run.Stderr} {run.Stdout[..Math.Min(3000, run.Stdout.Length)]}");
        Assert.Equal(Cells, JsonDocument.Parse(run.Stdout).RootElement.GetProperty("run").GetProperty("passed").GetInt32());

        // Nothing was wasted: the eight that failed, then one answered request per cell (the first of them the probe
        // that closed the circuit). Calls that waited out the break sent nothing and used none of their retries.
        Assert.Equal(Outage + Cells, Endpoint.Requests.Count);

        // While the circuit was open the endpoint got nothing: a gap of at least most of the 5 s break between requests.
        // A lower bound on a wait, which a slower machine can only lengthen; the count above, not an upper bound in
        // seconds, says that the break ended with one probe that closed the circuit.
        var times = Endpoint.Requests.Select(r => r.At).Order().ToList();
        var longestGap = times.Zip(times.Skip(1), (a, b) => b - a).Max();
        Assert.True(longestGap >= TimeSpan.FromSeconds(3), $"the longest gap between requests was {longestGap.TotalSeconds:0.0} s, shorter than the 5 s break");
    }

    private async Task<List<JsonElement>> ResultsAsync(string runId)
    {
        var results = await Run("results", runId);
        Assert.True(results.ExitCode == 0, results.Stderr);
        return [.. results.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement)];
    }
}
