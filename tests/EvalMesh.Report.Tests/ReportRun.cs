using System.Text.Json;
using EvalMesh.Testing;

[assembly: AssemblyFixture(typeof(EvalMesh.Report.Tests.ReportRun))]

namespace EvalMesh.Report.Tests;

/// <summary>
/// One finished run on the CLI's embedded silo, as a user makes it, with the files <c>evalmesh run</c> wrote and the
/// JSON report and results the CLI gives for it: echo (whose answer is its prompt, so each format passes different
/// cases) and the tiny model (priced, so that the report has costs), over three formats, with cases in five
/// categories and four scorers.
/// </summary>
public sealed class ReportRun : IAsyncLifetime
{
    private const string Config = """
        description: report test, echo and the tiny model in three formats
        datasets:
          - name: slack
            generate: { kind: slack, messages: 4, seed: 7, cases-per-category: 0 }
        suites:
          - name: probes
            dataset: slack
            path: probes.suite.yaml
        formats: [oneline-json, csv, yaml]
        tokenizers: [o200k_base, cl100k_base]
        endpoints:
          - name: echo
            type: echo
          - name: tiny
            type: llama
            model: tiny-random
            max-tokens: 8
            cost: { input-per-mtok: 0.5, output-per-mtok: 2 }
        prompt: |
          Messages as {{format}}:
          {{context}}
          Question: {{question}}
          Answer:
        repeats: 2
        """;

    // Echo passes a case when the expected text is in its prompt: the first only in JSON, the fifth only in YAML.
    private const string Suite = """
        name: probes
        cases:
          - id: brace
            question: How does each record start?
            expected: '{"type"'
            scorer: contains
            tags: [index]
          - id: person
            question: What is the full name of alex?
            expected: Alex Chen
            scorer: contains
            tags: [user]
          - id: grafana
            question: Which tool for dashboards is named?
            expected: Grafana
            scorer: contains
            tags: [content]
          - id: absent
            question: Which message mentions the moon <img src=x onerror="document.title='pwned'">?
            expected: the moon landing was staged
            scorer: contains
            tags: [compound]
          - id: yamlish
            question: How is the channel's name written?
            expected: 'channel_name: '
            scorer: contains
            tags: [thread]
          - id: link
            question: What is the permalink of the second message?
            expected: [https://evalmesh-demo.slack.com/archives/C08N3P4Q5R6/p1759286547444816]
            scorer: url-set
            tags: [index]
          - id: pattern
            question: Give any permalink.
            expected: '^https://\S+$'
            scorer: regex
            tags: [content]
        """;

    /// <summary>The folder the CLI ran in.</summary>
    public string Folder { get; } = Directory.CreateTempSubdirectory("evalmesh-report-").FullName;

    /// <summary>The run's id.</summary>
    public string RunId { get; private set; } = string.Empty;

    /// <summary>The folder <c>evalmesh run</c> wrote its reports to.</summary>
    public string Reports => Path.Combine(Folder, "reports");

    /// <summary><c>evalmesh report RUN --format json</c>.</summary>
    public JsonElement Report { get; private set; }

    /// <summary><c>evalmesh results RUN</c>: every cell.</summary>
    public IReadOnlyList<JsonElement> Cells { get; private set; } = [];

    /// <summary>Runs the CLI in this run's folder with its data home.</summary>
    public Task<ProgramResult> CliAsync(params string[] args) =>
        CliRunner.RunAsync(Folder, new Dictionary<string, string> { ["EVALMESH_HOME"] = Path.Combine(Folder, "home") }, args);

    public async ValueTask InitializeAsync()
    {
        await File.WriteAllTextAsync(Path.Combine(Folder, "probes.suite.yaml"), Suite);
        await File.WriteAllTextAsync(Path.Combine(Folder, "report-test.yaml"), Config);
        var run = await CliAsync("run", "report-test.yaml", "--out", "reports");
        Assert.True(run.ExitCode == 1, $"a run with failures exits 1: {run.ExitCode}\n{run.Stdout}\n{run.Stderr}");
        var runs = await CliAsync("runs", "--json");
        RunId = JsonDocument.Parse(runs.Stdout).RootElement.EnumerateArray().Single().GetProperty("runId").GetString()!;
        var report = await CliAsync("report", RunId, "--format", "json");
        Assert.Equal(0, report.ExitCode);
        Report = JsonDocument.Parse(report.Stdout).RootElement;
        var results = await CliAsync("results", RunId);
        Assert.Equal(0, results.ExitCode);
        Cells = [.. results.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement)];
    }

    public ValueTask DisposeAsync()
    {
        Directory.Delete(Folder, recursive: true);
        return ValueTask.CompletedTask;
    }
}
