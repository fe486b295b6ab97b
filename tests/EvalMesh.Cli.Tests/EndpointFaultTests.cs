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
        WriteConfig("outage.yaml", cases: 12, repeats: 1, "timeout-seconds: 1", "max-concurrency: 4");

        // The endpoint answers 503 for its first two seconds, then OK.
        DateTimeOffset? firstRequest = null;
        Endpoint.Default = context =>
        {
            lock (_rateLimitedAt)
            {
                firstRequest ??= DateTimeOffset.UtcNow;
            }

            return DateTimeOffset.UtcNow - firstRequest < TimeSpan.FromSeconds(2)
                ? ScriptedOpenAiServer.Status(503)(context)
                : ScriptedOpenAiServer.Completion("OK")(context);
        };

        var run = await Run("run", "outage.yaml", "--json");

        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}: {run.Stderr} {run.Stdout[..Math.Min(3000, run.Stdout.Length)]}");
        Assert.Equal(12, JsonDocument.Parse(run.Stdout).RootElement.GetProperty("run").GetProperty("passed").GetInt32());

        // While the circuit was open the endpoint got nothing: a gap of about the 5 s break between requests.
        var times = Endpoint.Requests.Select(r => r.At).Order().ToList();
        var longestGap = times.Zip(times.Skip(1), (a, b) => b - a).Max();
        Assert.InRange(longestGap, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(10));
    }

    private async Task<List<JsonElement>> ResultsAsync(string runId)
    {
        var results = await Run("results", runId);
        Assert.True(results.ExitCode == 0, results.Stderr);
        return [.. results.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement)];
    }
}
