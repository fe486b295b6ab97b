using System.Text.Json;
using EvalMesh.Testing;

namespace EvalMesh.Report.Tests;

/// <summary>
/// <c>evalmesh finetune</c> on the report run, as a user closes the loop: the cases split by case, the adapter trained on
/// the training cases' failures only, the matrix run again with the adapter as an extra endpoint, and the comparison
/// taken on the held-out cases only, each figure recomputed from the cells the CLI gives.
/// </summary>
public sealed class FinetuneLoopTests(ReportRun run)
{
    private static (string Suite, string CaseId) Case(JsonElement c) => (c.GetProperty("suite").GetString()!, c.GetProperty("caseId").GetString()!);

    [Fact]
    public async Task Finetune_TrainsOnTheTrainingCasesFailures_RunsTheMatrixWithTheAdapter_AndComparesOnHeldOutCasesOnly()
    {
        var loop = await run.CliAsync("finetune", run.RunId, "--endpoint", "tiny", "--holdout", "0.3", "--epochs", "2", "--seed", "3", "--json");
        Assert.True(loop.ExitCode is 0 or 1, $"{loop.ExitCode}\n{loop.Stdout}\n{loop.Stderr}");
        var result = JsonDocument.Parse(loop.Stdout).RootElement;

        // 7 cases: 2 held out (0.3 of them, rounded), the other 5 trained on; none on both sides.
        var train = result.GetProperty("trainCases").EnumerateArray().Select(Case).ToHashSet();
        var heldOut = result.GetProperty("heldOutCases").EnumerateArray().Select(Case).ToHashSet();
        Assert.Equal(2, heldOut.Count);
        Assert.Equal(run.Cells.Select(Case).ToHashSet(), train.Union(heldOut).ToHashSet());
        Assert.Empty(train.Intersect(heldOut));

        // One example per failed prompt (case and format) of tiny among the training cases whose scorer has a reference answer.
        var expected = run.Cells
            .Where(c => c.GetProperty("endpoint").GetString() == "tiny" && c.GetProperty("outcome").GetString() == "failed" && train.Contains(Case(c)) && c.GetProperty("scorer").GetString() != "regex")
            .Select(c => (Case(c), c.GetProperty("format").GetString()))
            .Distinct()
            .Count();
        Assert.True(expected > 0);
        Assert.Equal(expected, result.GetProperty("examples").GetProperty("examples").GetInt32());

        var training = result.GetProperty("training");
        Assert.Equal("completed", training.GetProperty("state").GetString());
        Assert.Equal($"ft-{run.RunId}", training.GetProperty("adapter").GetProperty("name").GetString());
        var adapters = await run.CliAsync("adapters", "list", "--json");
        Assert.Contains($"ft-{run.RunId}", adapters.Stdout, StringComparison.Ordinal);

        // The same matrix with one more endpoint: the adapter's.
        var evaluation = result.GetProperty("evaluationRun").GetString()!;
        var results = await run.CliAsync("results", evaluation);
        Assert.Equal(0, results.ExitCode);
        var cells = results.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement).ToList();
        var adapterEndpoint = $"tiny+ft-{run.RunId}";
        Assert.Equal(["echo", "tiny", adapterEndpoint], cells.Select(c => c.GetProperty("endpoint").GetString()).Distinct().Order(StringComparer.Ordinal));
        Assert.Equal(run.Cells.Count / 2 * 3, cells.Count);

        // The comparison: per format, each side's accuracy over the held-out cases (a case's pass rate over its repeats).
        var rows = result.GetProperty("comparison").EnumerateArray().ToList();
        Assert.Equal(3, rows.Count);
        foreach (var row in rows)
        {
            var format = row.GetProperty("format").GetString();
            double Accuracy(string endpoint) => cells
                .Where(c => c.GetProperty("endpoint").GetString() == endpoint && c.GetProperty("format").GetString() == format && heldOut.Contains(Case(c)))
                .GroupBy(Case)
                .Average(g => g.Average(c => c.GetProperty("outcome").GetString() == "passed" ? 1.0 : 0.0));
            Assert.Equal("tiny", row.GetProperty("endpoint").GetString());
            Assert.Equal(2, row.GetProperty("paired").GetInt32());
            Assert.Equal(Accuracy("tiny"), row.GetProperty("baselineAccuracy").GetDouble(), 12);
            Assert.Equal(Accuracy(adapterEndpoint), row.GetProperty("candidateAccuracy").GetDouble(), 12);
        }
    }

    [Theory]
    [InlineData("--endpoint", "echo", "evalmesh: error: '--endpoint': endpoint 'echo' is echo; an adapter can only be trained for a llama endpoint's model")]
    [InlineData("--holdout", "1.5", "evalmesh: error: '--holdout': must be between 0 and 1 (exclusive), not 1.5")]
    [InlineData("--register", "tiny-random:mine", "evalmesh: error: '--register': the adapter's name 'tiny-random:mine' must be 1 to 60 letters, digits, '.', '_' or '-' (it names the adapter, its endpoint and the evaluation run)")]
    public async Task Finetune_Mistake_IsOneLine_ExitTwo(string option, string value, string expected)
    {
        string[] args = option == "--endpoint" ? ["finetune", run.RunId, option, value] : ["finetune", run.RunId, "--endpoint", "tiny", option, value];
        var loop = await run.CliAsync(args);
        Assert.Equal(2, loop.ExitCode);
        Assert.Equal(expected, loop.Stderr.Trim());
    }
}
