using System.Text.Json;
using EvalMesh.Testing;

namespace EvalMesh.Cli.Tests;

public sealed class RunCliTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("evalmesh-cli-run-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    // Each test keeps its runs in its own data folder, as a user's home would.
    private Task<ProgramResult> Run(params string[] args) =>
        CliRunner.RunAsync(_folder, new Dictionary<string, string> { ["EVALMESH_HOME"] = Path.Combine(_folder, "home") }, args);

    private string Write(string name, string content)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllText(path, content);
        return path;
    }

    private const string Echo = """
        description: echo smoke
        datasets:
          - name: d
            generate: { kind: slack, messages: 10, seed: 4, cases-per-category: 1 }
        suites:
          - name: s
            dataset: d
            generated: true
        formats: [csv, toon]
        endpoints:
          - name: e
            type: echo
        """;

    [Fact]
    public async Task TheHostedSilosLogs_GoToTheLogFile_NotToTheConsole()
    {
        var runs = await Run("runs");
        Assert.Equal(0, runs.ExitCode);
        Assert.Equal(string.Empty, runs.Stderr);

        // Orleans warns at start-up that server GC is off: the warning is in the data folder's log, not on the console.
        var log = await File.ReadAllTextAsync(Path.Combine(_folder, "home", "logs", "cli.log"), TestContext.Current.CancellationToken);
        Assert.Contains("Warning Orleans.Runtime.Silo: Note: Silo not running with ServerGC", log);
        Assert.DoesNotContain("ServerGC", runs.Stdout);
    }

    [Fact]
    public async Task Run_OnTheEmbeddedSilo_PrintsTheTable_WritesReports_AndTheRunOutlivesTheProcess()
    {
        var config = Write("echo.yaml", Echo);
        var run = await Run("run", config, "--out", "reports");
        Assert.True(run.ExitCode == 1, $"failures must give exit code 1: {run.ExitCode}\n{run.Stderr}");
        Assert.Contains("accuracy (95% CI)", run.Stdout);
        Assert.Contains("recommended format for e:", run.Stdout);
        foreach (var format in new[] { "json", "csv", "md" })
        {
            Assert.True(File.Exists(Path.Combine(_folder, "reports", $"report.{format}")), format);
        }

        var runs = await Run("runs", "--json");
        Assert.Equal(0, runs.ExitCode);
        var listed = JsonDocument.Parse(runs.Stdout).RootElement.EnumerateArray().Single();
        Assert.Equal("completed", listed.GetProperty("state").GetString());
        var id = listed.GetProperty("runId").GetString()!;
        Assert.Contains(id, run.Stdout);

        var status = await Run("status", id);
        Assert.Equal(0, status.ExitCode);
        Assert.Contains($"{id}: completed, 10/10 cells", status.Stdout);
        var csv = await Run("report", id, "--format", "csv");
        Assert.Equal(3, csv.Stdout.Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.StartsWith("suite,format,endpoint,cells,passed,failed,errors,accuracy", csv.Stdout);
        var md = await Run("report", id, "--format", "md");
        Assert.Contains("| s | e | csv |", md.Stdout);
    }

    [Fact]
    public async Task Limit_RunsTheFirstCasesOfEachSuite_AndTheReportSaysItIsAQuickLook()
    {
        var config = Write("echo.yaml", Echo + "\nlimit: 4\n");
        var fromConfig = await Run("run", config, "--json", "--out", "config-limit");
        var fromFlag = await Run("run", config, "--json", "--limit", "2", "--out", "flag-limit");
        var report = JsonDocument.Parse(fromConfig.Stdout).RootElement;
        var flagged = JsonDocument.Parse(fromFlag.Stdout).RootElement;
        Assert.Equal(8, report.GetProperty("run").GetProperty("total").GetInt32());
        Assert.Equal(4, flagged.GetProperty("run").GetProperty("total").GetInt32());
        Assert.Contains(flagged.GetProperty("notes").EnumerateArray(), n => n.GetString()!.StartsWith("Limited: only the first 2 case(s) of each suite ran.", StringComparison.Ordinal));
        var markdown = await File.ReadAllTextAsync(Path.Combine(_folder, "flag-limit", "report.md"), TestContext.Current.CancellationToken);
        Assert.Contains("## Settings\n\n1 repeat(s) per cell (a sampled cell's seed is its repeat); only the first 2 case(s) of each suite.", markdown, StringComparison.Ordinal);
        Assert.Contains("| e | echo | – | – | 32 | 0 | 1 |", markdown, StringComparison.Ordinal);

        // The first cases, in the suite's order: the limited run's cases are the first of the bigger one's.
        var results = await Run("results", flagged.GetProperty("run").GetProperty("runId").GetString()!);
        var all = await Run("results", report.GetProperty("run").GetProperty("runId").GetString()!);
        static List<string> Cases(string lines) => [.. lines.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("caseId").GetString()!).Distinct().Order()];
        Assert.Equal(2, Cases(results.Stdout).Count);
        Assert.Subset(Cases(all.Stdout).ToHashSet(), Cases(results.Stdout).ToHashSet());

        var zero = await Run("run", config, "--limit", "0");
        Assert.Equal(2, zero.ExitCode);
        Assert.Contains("--limit", zero.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("formats: [csv, toon]", "formats: [csv, tooon]", ":9:16: 'formats[1]': unknown format 'tooon' (did you mean 'toon'?)")]
    [InlineData("description: echo smoke", "descriptoin: echo smoke", ":1:1: 'descriptoin': unknown key (did you mean 'description'?)")]
    [InlineData("    type: echo", "    type: 42", ":12:11: 'endpoints[0].type': unknown endpoint type '42'")]
    public async Task Run_BadConfig_NamesFileLineAndKey(string good, string bad, string expected)
    {
        var config = Write("bad.yaml", Echo.Replace(good, bad, StringComparison.Ordinal));
        var result = await Run("run", config);
        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal($"evalmesh: error: {config}{expected}", line.Split("; known")[0]);
    }

    [Fact]
    public async Task Status_OfAnUnknownRun_IsAClearError()
    {
        var result = await Run("status", "run-that-never-was");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("run 'run-that-never-was' does not exist", result.Stderr);
        Assert.DoesNotContain("   at ", result.Stderr);
    }
}
