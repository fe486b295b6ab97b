using System.Text.Json;
using EvalMesh.Testing;

namespace EvalMesh.Cli.Tests;

/// <summary>
/// OpenAI-compatible answers are cached (as promptfoo does): a run asked again is answered from the cache, the same and
/// with the endpoint's latency; an error is never cached; <c>--no-cache</c> and <c>cache: false</c> ask the endpoint again.
/// </summary>
public sealed class ResponseCacheTests : ScriptedEndpointRuns
{
    private const int Cases = 6;

    [Fact]
    public async Task ARunAskedAgain_IsAnsweredFromTheCache_ButNotItsErrors_NorWithNoCache()
    {
        Endpoint.Default = ScriptedOpenAiServer.SlowCompletion("OK", TimeSpan.FromMilliseconds(300));
        Endpoint.Then(ScriptedOpenAiServer.Status(400));

        // The first run: one request per cell; the first answer is a 400 (not retried), so that cell is an error.
        var first = await Run("run", WriteConfig("a.yaml", Cases), "--run-id", "first");
        Assert.Equal(1, first.ExitCode);
        Assert.Equal(Cases, Endpoint.Requests.Count);

        // Asked again: only the errored cell reaches the endpoint; every answer is the same, and each cell reports the
        // latency the endpoint took to give it (300 ms), not the cache's.
        var second = await Run("run", WriteConfig("a.yaml", Cases), "--run-id", "second", "--json");
        Assert.Equal(0, second.ExitCode);
        Assert.Equal(Cases + 1, Endpoint.Requests.Count);
        var cells = (await Run("results", "second")).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(Cases, cells.Count);
        Assert.All(cells, c => Assert.Equal("OK", c.GetProperty("output").GetString()));
        Assert.All(cells, c => Assert.True(c.GetProperty("latencyMs").GetDouble() >= 300, $"latency {c.GetProperty("latencyMs").GetDouble()} ms"));

        Assert.Equal(0, (await Run("run", WriteConfig("a.yaml", Cases), "--run-id", "third", "--no-cache")).ExitCode);
        Assert.Equal(2 * Cases + 1, Endpoint.Requests.Count);

        Assert.Equal(0, (await Run("run", WriteConfig("b.yaml", Cases, 1, "cache: false"), "--run-id", "fourth")).ExitCode);
        Assert.Equal(3 * Cases + 1, Endpoint.Requests.Count);

        // A different setting is a different question.
        Assert.Equal(0, (await Run("run", WriteConfig("c.yaml", Cases, 1, "max-tokens: 7"), "--run-id", "fifth")).ExitCode);
        Assert.Equal(4 * Cases + 1, Endpoint.Requests.Count);
        Assert.Equal(0, (await Run("compare", "second", "third")).ExitCode);
    }
}
