using System.Text.Json;
using System.Xml.Linq;
using EvalMesh.Evaluation.Scoring;
using EvalMesh.Testing;

namespace EvalMesh.Report.Tests;

/// <summary>The report files for machines, through the CLI: costs in JSON, CSV and Markdown, JUnit XML for CI systems and fine-tuning JSONL.</summary>
public sealed class ReportFileTests(ReportRun run)
{
    private static readonly string[] Roles = ["system", "user", "assistant"];

    [Fact]
    public async Task Costs_EqualARecomputationFromTheCells_InJsonCsvAndMarkdown()
    {
        // tiny is priced at 0.5 per million prompt tokens and 2 per million completion tokens; echo is not priced.
        var expected = run.Cells
            .Where(c => c.GetProperty("endpoint").GetString() == "tiny" && c.GetProperty("promptTokens").TryGetProperty("native", out _))
            .GroupBy(c => c.GetProperty("format").GetString()!)
            .ToDictionary(g => g.Key, g => (Cost: g.Sum(c => ((c.GetProperty("promptTokens").GetProperty("native").GetInt32() * 0.5) + ((c.GetProperty("completionTokens") is { ValueKind: JsonValueKind.Number } completion ? completion.GetInt32() : 0) * 2.0)) / 1e6), Cells: g.Count()));
        Assert.Equal(3, expected.Count);
        var rows = run.Report.GetProperty("rows").EnumerateArray().ToList();
        foreach (var (format, (cost, cells)) in expected)
        {
            var row = rows.Single(r => r.GetProperty("endpoint").GetString() == "tiny" && r.GetProperty("format").GetString() == format);
            Assert.Equal(cost, row.GetProperty("cost").GetDouble(), 12);
            Assert.Equal(cost / cells, row.GetProperty("meanCost").GetDouble(), 12);
        }

        Assert.All(rows.Where(r => r.GetProperty("endpoint").GetString() == "echo"), r => Assert.Equal(JsonValueKind.Null, r.GetProperty("cost").ValueKind));
        var total = expected.Values.Sum(e => e.Cost);
        Assert.Equal(total, run.Report.GetProperty("cost").GetDouble(), 12);

        // CSV: a cost and a mean cost column; Markdown: both beside the tokens, and the run's total.
        var csv = (await File.ReadAllLinesAsync(Path.Combine(run.Reports, "report.csv"), TestContext.Current.CancellationToken)).Select(l => l.Split(',')).ToList();
        var (costColumn, formatColumn, endpointColumn) = (Array.IndexOf(csv[0], "cost"), Array.IndexOf(csv[0], "format"), Array.IndexOf(csv[0], "endpoint"));
        Assert.Equal("mean_cost", csv[0][costColumn + 1]);
        foreach (var line in csv.Skip(1).Where(l => l[endpointColumn] == "tiny"))
        {
            Assert.Equal(expected[line[formatColumn]].Cost, double.Parse(line[costColumn], System.Globalization.CultureInfo.InvariantCulture), 12);
        }

        var markdown = await File.ReadAllTextAsync(Path.Combine(run.Reports, "report.md"), TestContext.Current.CancellationToken);
        Assert.Contains($" Cost: {run.Report.GetProperty("cost").GetDouble().ToString("0.######", System.Globalization.CultureInfo.InvariantCulture)} at each endpoint's price.", markdown, StringComparison.Ordinal);
        Assert.Contains(" | cost | cost per cell | ", markdown, StringComparison.Ordinal);
        Assert.Contains("| tiny | llama | tiny-random | – | 8 | 0 | 1 | 0.5 / 2 | – |", markdown, StringComparison.Ordinal);
    }

    [Fact]
    public async Task JUnit_HasACasePerCell_WithFailuresAndErrorsAsTheReportCounts()
    {
        var file = Path.Combine(run.Folder, "junit.xml");
        var written = await run.CliAsync("report", run.RunId, "--format", "junit", "--out", file);
        Assert.Equal(0, written.ExitCode);
        var root = XDocument.Load(file).Root!;
        Assert.Equal("testsuites", root.Name.LocalName);
        var status = run.Report.GetProperty("run");
        Assert.Equal(status.GetProperty("completed").GetInt32(), (int)root.Attribute("tests")!);
        Assert.Equal(status.GetProperty("failed").GetInt32(), (int)root.Attribute("failures")!);
        Assert.Equal(status.GetProperty("errors").GetInt32(), (int)root.Attribute("errors")!);
        foreach (var row in run.Report.GetProperty("rows").EnumerateArray())
        {
            var name = $"probes / {row.GetProperty("endpoint").GetString()} / {row.GetProperty("format").GetString()}";
            var suite = Assert.Single(root.Elements("testsuite"), s => (string)s.Attribute("name")! == name);
            Assert.Equal(row.GetProperty("cells").GetInt32(), suite.Elements("testcase").Count());
            Assert.Equal(row.GetProperty("failed").GetInt32(), suite.Elements("testcase").Count(c => c.Element("failure") is not null));
            Assert.Equal(row.GetProperty("failed").GetInt32(), (int)suite.Attribute("failures")!);
            Assert.All(suite.Elements("testcase").Elements("failure"), f => Assert.False(string.IsNullOrEmpty((string?)f.Attribute("message"))));
        }
    }

    [Fact]
    public async Task AFolderOfReports_OfARunBiggerThanAPage_HasEveryCellInJUnit_AndThePagesWorthInHtml()
    {
        // echo-10k with two repeats: 20,000 cells, twice what a page holds.
        var folder = Directory.CreateTempSubdirectory("evalmesh-big-report-").FullName;
        try
        {
            var examples = RepoPaths.Under("client/examples");
            File.Copy(Path.Combine(examples, "echo-6k.suite.yaml"), Path.Combine(folder, "echo-6k.suite.yaml"));
            await File.WriteAllTextAsync(Path.Combine(folder, "big.yaml"), (await File.ReadAllTextAsync(Path.Combine(examples, "echo-10k.yaml"), TestContext.Current.CancellationToken)).Replace("repeats: 1", "repeats: 2", StringComparison.Ordinal), TestContext.Current.CancellationToken);
            var ran = await CliRunner.RunAsync(folder, new Dictionary<string, string> { ["EVALMESH_HOME"] = Path.Combine(folder, "home") }, "run", "big.yaml", "--out", "reports");
            Assert.True(ran.ExitCode is 0 or 1, ran.Stdout + ran.Stderr);

            var root = XDocument.Load(Path.Combine(folder, "reports", "report.junit.xml")).Root!;
            Assert.Equal(20_000, (int)root.Attribute("tests")!);
            var suites = root.Elements("testsuite").ToList();
            Assert.Equal(10, suites.Count);
            Assert.All(suites, s => Assert.Equal(2_000, s.Elements("testcase").Count()));
            Assert.All(suites, s => Assert.Equal(2_000, (int)s.Attribute("tests")!));
            Assert.Equal(20_000, suites.SelectMany(s => s.Elements("testcase")).Select(c => $"{(string)c.Attribute("classname")!} {(string)c.Attribute("name")!}").Distinct().Count());
            Assert.Equal((int)root.Attribute("failures")!, suites.Sum(s => s.Elements("testcase").Count(c => c.Element("failure") is not null)));

            var page = await File.ReadAllTextAsync(Path.Combine(folder, "reports", "report.html"), TestContext.Current.CancellationToken);
            Assert.Equal(EvalMesh.Client.HtmlPages.MaxCells, System.Text.RegularExpressions.Regex.Count(page, "\"caseId\":"));
            Assert.Contains("\"cellsTotal\":20000", page, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task ExportFinetune_OnlyFailed_PairsEachPromptWithAnAnswerItsScorerPasses()
    {
        var file = Path.Combine(run.Folder, "failed.jsonl");
        var export = await run.CliAsync("export-finetune", run.RunId, "--out", file, "--only", "failed");
        Assert.True(export.ExitCode == 0, export.Stderr);
        var failed = run.Cells.Where(c => c.GetProperty("outcome").GetString() == "failed").ToList();
        var prompts = failed.GroupBy(c => (c.GetProperty("caseId").GetString(), c.GetProperty("format").GetString())).ToList();
        var withReference = prompts.Count(p => p.First().GetProperty("scorer").GetString() != "regex");
        Assert.Equal($"wrote {withReference} examples from {failed.Count} cells to {file}; {prompts.Count - withReference} prompts left out: their scorer (regex) has no reference answer", export.Stdout.Trim());

        var lines = await File.ReadAllLinesAsync(file, TestContext.Current.CancellationToken);
        Assert.Equal(withReference, lines.Length);
        foreach (var line in lines)
        {
            // The OpenAI chat fine-tuning format: an object with only "messages", each message a role and its text,
            // at least one user message, ending with the assistant's answer.
            var example = JsonDocument.Parse(line).RootElement;
            Assert.Equal(["messages"], example.EnumerateObject().Select(p => p.Name));
            var messages = example.GetProperty("messages").EnumerateArray().ToList();
            Assert.True(messages.Count >= 2);
            foreach (var message in messages)
            {
                Assert.Equal(["role", "content"], message.EnumerateObject().Select(p => p.Name));
                Assert.Contains(message.GetProperty("role").GetString(), Roles);
                Assert.False(string.IsNullOrWhiteSpace(message.GetProperty("content").GetString()));
            }

            Assert.Equal("assistant", messages[^1].GetProperty("role").GetString());
            var prompt = Assert.Single(messages, m => m.GetProperty("role").GetString() == "user").GetProperty("content").GetString()!;
            var answer = messages[^1].GetProperty("content").GetString()!;

            // The prompt is the one the model saw (echo answers with its prompt), of a failed cell, and the answer is one
            // that cell's scorer passes.
            var echo = Assert.Single(run.Cells, c => c.GetProperty("endpoint").GetString() == "echo" && c.GetProperty("repeat").GetInt32() == 1 && c.GetProperty("output").GetString() == prompt);
            var cell = Assert.Single(prompts, p => p.Key == (echo.GetProperty("caseId").GetString(), echo.GetProperty("format").GetString())).First();
            var expected = cell.GetProperty("expected").EnumerateArray().Select(e => e.GetString()!).ToList();
            var score = await ScorerFactory.Create(new ScorerSpec(cell.GetProperty("scorer").GetString()!)).ScoreAsync(new ScoreRequest(string.Empty, answer, expected), TestContext.Current.CancellationToken);
            Assert.True(score.Passed, $"{cell.GetProperty("caseId").GetString()}: '{answer}' fails its own scorer: {score.Reason}");
        }
    }

    [Fact]
    public async Task ExportFinetune_UnknownSelectionOrEndpoint_IsAOneLineError_AndWritesNothing()
    {
        var file = Path.Combine(run.Folder, "x.jsonl");
        var selection = await run.CliAsync("export-finetune", run.RunId, "--out", file, "--only", "passed");
        Assert.Equal(2, selection.ExitCode);
        Assert.Equal("evalmesh: error: unknown --only selection 'passed'; known --only selections: failed", selection.Stderr.Trim());
        var endpoint = await run.CliAsync("export-finetune", run.RunId, "--out", file, "--endpoint", "tinny");
        Assert.Equal(2, endpoint.ExitCode);
        Assert.StartsWith("evalmesh: error: unknown endpoint 'tinny' (did you mean 'tiny'?)", endpoint.Stderr.Trim());
        Assert.Single(endpoint.Stderr.Trim().Split('\n'));
        Assert.False(File.Exists(file));
    }
}
