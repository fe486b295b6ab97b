using System.Text.Json;
using EvalMesh.Testing;

namespace EvalMesh.Cli.Tests;

/// <summary>
/// OpenAI-compatible answers are cached (as promptfoo does): a run asked again is answered from the cache, the same and
/// with the endpoint's latency; an error is never cached; <c>--no-cache</c> and <c>cache: false</c> ask the endpoint again.
/// </summary>
public sealed class ResponseCacheTests : IAsyncLifetime
{
    private const int Cases = 6;
    private readonly string _folder = Directory.CreateTempSubdirectory("evalmesh-cache-").FullName;
    private ScriptedOpenAiServer _endpoint = null!;

    public async ValueTask InitializeAsync() => _endpoint = await ScriptedOpenAiServer.StartAsync();

    public async ValueTask DisposeAsync()
    {
        await _endpoint.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    private Task<ProgramResult> Run(params string[] args) =>
        CliRunner.RunAsync(_folder, new Dictionary<string, string> { ["EVALMESH_HOME"] = Path.Combine(_folder, "home") }, args);

    private string Config(string name, string extra = "")
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllText(path, $$$"""
            datasets:
              - name: facts
                path: facts.jsonl
            suites:
              - name: facts
                dataset: facts
                cases:
            {{{string.Join('\n', Enumerable.Range(1, Cases).Select(i => $"      - {{ id: q{i}, question: \"Say OK (q{i})\", expected: OK }}"))}}}
            formats: [csv]
            endpoints:
              - name: scripted
                type: openai
                base-url: {{{_endpoint.BaseUrl}}}
                model: scripted
            {{{extra}}}
            """);
        return path;
    }

    [Fact]
    public async Task ARunAskedAgain_IsAnsweredFromTheCache_ButNotItsErrors_NorWithNoCache()
    {
        File.WriteAllText(Path.Combine(_folder, "facts.jsonl"), "{\"fact\":\"the answer is OK\"}\n");
        _endpoint.Default = ScriptedOpenAiServer.SlowCompletion("OK", TimeSpan.FromMilliseconds(300));
        _endpoint.Then(ScriptedOpenAiServer.Status(400));

        // The first run: one request per cell; the first answer is a 400 (not retried), so that cell is an error.
        var first = await Run("run", Config("a.yaml"), "--run-id", "first");
        Assert.Equal(1, first.ExitCode);
        Assert.Equal(Cases, _endpoint.Requests.Count);

        // Asked again: only the errored cell reaches the endpoint; every answer is the same, and each cell reports the
        // latency the endpoint took to give it (300 ms), not the cache's.
        var second = await Run("run", Config("a.yaml"), "--run-id", "second", "--json");
        Assert.Equal(0, second.ExitCode);
        Assert.Equal(Cases + 1, _endpoint.Requests.Count);
        var cells = (await Run("results", "second")).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(Cases, cells.Count);
        Assert.All(cells, c => Assert.Equal("OK", c.GetProperty("output").GetString()));
        Assert.All(cells, c => Assert.True(c.GetProperty("latencyMs").GetDouble() >= 300, $"latency {c.GetProperty("latencyMs").GetDouble()} ms"));

        Assert.Equal(0, (await Run("run", Config("a.yaml"), "--run-id", "third", "--no-cache")).ExitCode);
        Assert.Equal(2 * Cases + 1, _endpoint.Requests.Count);

        Assert.Equal(0, (await Run("run", Config("b.yaml", "    cache: false"), "--run-id", "fourth")).ExitCode);
        Assert.Equal(3 * Cases + 1, _endpoint.Requests.Count);

        // A different setting is a different question.
        Assert.Equal(0, (await Run("run", Config("c.yaml", "    max-tokens: 7"), "--run-id", "fifth")).ExitCode);
        Assert.Equal(4 * Cases + 1, _endpoint.Requests.Count);
        Assert.Equal(0, (await Run("compare", "second", "third")).ExitCode);
    }
}
