using EvalMesh.Abstractions;
using EvalMesh.Contracts;
using EvalMesh.Evaluation.Configuration;
using EvalMesh.Evaluation.Statistics;
using EvalMesh.Grains.Runs;

namespace EvalMesh.Grains.Tests;

/// <summary>The report's statistics from stored results, without a cluster: the case is the unit.</summary>
public class ReportBuilderTests
{
    private static readonly EndpointConfig Echo = new("echo", EndpointType.Echo, null, null, null, null, 32, 0, 60, 16);

    private static RunSpec Spec(int repeats, RecommendSettings? recommend = null) =>
        new(null, [new SuiteRef("s", "suite-id", "data-id", 4)], ["pretty-json", "csv"], ["o200k_base"], [Echo], [], null, EvalConfig.DefaultPrompt, repeats, 4, 512, Recommend: recommend);

    private static RunStatus Status(IReadOnlyCollection<CellResult> cells) =>
        new("run", RunState.Completed, null, cells.Count, cells.Count, cells.Count(c => c.Outcome == CellOutcome.Passed), cells.Count(c => c.Outcome == CellOutcome.Failed), cells.Count(c => c.Outcome == CellOutcome.Error), DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, null, []);

    private static CellResult Cell(string format, string caseId, int repeat, CellOutcome outcome, int tokens) =>
        new($"s/{caseId}/{format}/echo/{repeat}", "s", caseId, format, "echo", repeat, [], outcome, outcome == CellOutcome.Passed ? 1 : 0, string.Empty, string.Empty, [], new Dictionary<string, int> { ["o200k_base"] = tokens }, null, 1, null, string.Empty, "exact");

    private static async IAsyncEnumerable<CellResult> Stream(IEnumerable<CellResult> cells)
    {
        foreach (var cell in cells)
        {
            await Task.Yield();
            yield return cell;
        }
    }

    [Fact]
    public async Task BuildAsync_Repeats_AreAveragedPerCase_AndStabilityIsTheShareOfCasesThatDiffer()
    {
        // pretty-json, 3 repeats: case a passes 3 of 3, b 1 of 3, c 0 of 3, d only errors.
        CellResult[] cells =
        [
            Cell("pretty-json", "a", 1, CellOutcome.Passed, 900), Cell("pretty-json", "a", 2, CellOutcome.Passed, 900), Cell("pretty-json", "a", 3, CellOutcome.Passed, 900),
            Cell("pretty-json", "b", 1, CellOutcome.Passed, 900), Cell("pretty-json", "b", 2, CellOutcome.Failed, 900), Cell("pretty-json", "b", 3, CellOutcome.Failed, 900),
            Cell("pretty-json", "c", 1, CellOutcome.Failed, 900), Cell("pretty-json", "c", 2, CellOutcome.Failed, 900), Cell("pretty-json", "c", 3, CellOutcome.Error, 900),
            Cell("pretty-json", "d", 1, CellOutcome.Error, 900), Cell("pretty-json", "d", 2, CellOutcome.Error, 900), Cell("pretty-json", "d", 3, CellOutcome.Error, 900),
        ];
        var report = await ReportBuilder.BuildAsync(Status(cells), Spec(3), Stream(cells), TestContext.Current.CancellationToken);
        var row = Assert.Single(report.Rows);
        Assert.Equal(3, row.Cases);
        Assert.Equal(1, row.CasesOnlyErrors);
        Assert.Equal((1 + 1 / 3.0 + 0) / 3, row.Accuracy, 12);
        Assert.Equal(1 / 3.0, row.UnstableShare!.Value, 12);
        Assert.Equal(4, row.Passed);
        Assert.Contains(report.Notes, n => n.Contains("Cases with only errors are left out of accuracy: 1 for echo in pretty-json (s)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task BuildAsync_EveryFormatAtZero_RecommendsNothing_AndCarriesTheSettings()
    {
        var cells = new[] { "pretty-json", "csv" }.SelectMany(f => new[] { "a", "b", "c", "d" }.Select(c => Cell(f, c, 1, CellOutcome.Failed, f == "csv" ? 400 : 900))).ToList();
        var settings = new RecommendSettings(0.05, 0.01);
        var report = await ReportBuilder.BuildAsync(Status(cells), Spec(1, settings), Stream(cells), TestContext.Current.CancellationToken);
        var recommendation = Assert.Single(report.Recommendations);
        Assert.Null(recommendation.Format);
        Assert.Equal(RecommendationVerdict.Inconclusive, recommendation.Verdict);
        Assert.StartsWith("No format passed any case", recommendation.Reason, StringComparison.Ordinal);
        Assert.Equal(settings, report.Settings!.Recommend);
        Assert.All(report.Rows, r => Assert.Null(r.UnstableShare));
        var pair = Assert.Single(report.Comparisons);
        Assert.Equal(4, pair.Cases);
        Assert.Equal(0, pair.Difference);
        Assert.True(pair.DifferenceLower < 0 && pair.DifferenceUpper > 0);
    }

    [Fact]
    public async Task BuildAsync_PricedEndpoint_CostsEachCellByTheEndpointsOwnTokens_PerRowAndForTheRun()
    {
        var priced = Echo with { Name = "gpt", Type = EndpointType.OpenAi, Cost = new EndpointPrice(InputPerMTok: 2, OutputPerMTok: 10) };
        var spec = Spec(1) with { Endpoints = [priced, Echo] };
        static CellResult Native(string endpoint, string format, string caseId, CellOutcome outcome, int? native, int? completion) =>
            Cell(format, caseId, 1, outcome, 500) with
            {
                Endpoint = endpoint,
                PromptTokens = native is { } n ? new Dictionary<string, int> { ["o200k_base"] = 500, [ShardRunner.NativeTokenizer] = n } : new Dictionary<string, int> { ["o200k_base"] = 500 },
                CompletionTokens = completion,
            };

        CellResult[] cells =
        [
            Native("gpt", "pretty-json", "a", CellOutcome.Passed, 1_000, 50), Native("gpt", "pretty-json", "b", CellOutcome.Failed, 1_200, 30),
            Native("gpt", "csv", "a", CellOutcome.Passed, 400, 50), Native("gpt", "csv", "b", CellOutcome.Error, null, null),
            Native("echo", "csv", "a", CellOutcome.Passed, 400, 50),
        ];
        var report = await ReportBuilder.BuildAsync(Status(cells), spec, Stream(cells), TestContext.Current.CancellationToken);

        // 2 per million prompt tokens and 10 per million completion tokens, recomputed here cell by cell.
        var pretty = report.Rows.Single(r => r.Endpoint == "gpt" && r.Format == "pretty-json");
        Assert.Equal(((2_200 * 2.0) + (80 * 10.0)) / 1e6, pretty.Cost!.Value, 12);
        Assert.Equal(pretty.Cost.Value / 2, pretty.MeanCost!.Value, 12);

        // A cell without the endpoint's own count (here an error) is not priced.
        var csv = report.Rows.Single(r => r.Endpoint == "gpt" && r.Format == "csv");
        Assert.Equal(((400 * 2.0) + (50 * 10.0)) / 1e6, csv.Cost!.Value, 12);
        Assert.Equal(csv.Cost.Value, csv.MeanCost!.Value, 12);

        // An endpoint without a price has no cost; the run's is its rows' added up.
        Assert.Null(report.Rows.Single(r => r.Endpoint == "echo").Cost);
        Assert.Equal(pretty.Cost.Value + csv.Cost.Value, report.Cost!.Value, 12);
        Assert.Equal(priced.Cost, report.Settings!.Endpoints[0].Cost);
    }
}
