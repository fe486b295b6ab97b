using EvalMesh.Testing;

namespace EvalMesh.Cli.Tests;

/// <summary>
/// CLI runs in a folder of their own (and their own <c>EVALMESH_HOME</c>) against a scripted OpenAI-compatible
/// endpoint on loopback, asked questions "Say OK (qNN)" whose right answer is OK.
/// </summary>
public abstract class ScriptedEndpointRuns : IAsyncLifetime
{
    protected string Folder { get; } = Directory.CreateTempSubdirectory("evalmesh-scripted-").FullName;

    protected ScriptedOpenAiServer Endpoint { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Endpoint = await ScriptedOpenAiServer.StartAsync();

    public async ValueTask DisposeAsync()
    {
        await Endpoint.DisposeAsync();
        Directory.Delete(Folder, recursive: true);
        GC.SuppressFinalize(this);
    }

    protected Task<ProgramResult> Run(params string[] args) =>
        CliRunner.RunAsync(Folder, new Dictionary<string, string> { ["EVALMESH_HOME"] = Path.Combine(Folder, "home") }, args);

    /// <summary>Writes a config of <paramref name="cases"/> questions against the endpoint, with more endpoint settings (YAML lines).</summary>
    protected string WriteConfig(string name, int cases, int repeats = 1, params string[] settings)
    {
        var path = Path.Combine(Folder, name);
        File.WriteAllText(path, $$$"""
            datasets:
              - name: d
                generate: { kind: slack, messages: 4, seed: 1, cases-per-category: 1 }
            suites:
              - name: s
                dataset: d
                cases:
            {{{string.Join('\n', Enumerable.Range(1, cases).Select(i => $"      - {{ id: q{i:00}, question: \"Say OK (q{i:00})\", expected: OK }}"))}}}
            formats: [csv]
            endpoints:
              - name: scripted
                type: openai
                base-url: {{{Endpoint.BaseUrl}}}
                model: scripted
            {{{string.Join('\n', settings.Select(s => "    " + s))}}}
            prompt: "{{context}}\n{{question}}"
            repeats: {{{repeats}}}
            """);
        return path;
    }
}
