using EvalMesh.Abstractions;
using EvalMesh.Grains.Hosting;
using Prometheus;

namespace EvalMesh.Grains.Runs;

/// <summary>
/// Eval metrics, exported at a silo's <c>/metrics</c>: cells stored by outcome, format and endpoint, their latency, and
/// their prompt tokens by format and tokenizer (from the silos running the shards); runs by state and the progress of
/// unfinished runs (from the run index, so only the index's silo exports them). Labels are bounded (a run's formats,
/// endpoints and tokenizers; run ids only while a run is unfinished); no prompt, output or cell id ever becomes one.
/// </summary>
internal static class EvalMetrics
{
    private static readonly string[] Outcomes = ["pass", "fail", "error"];

    private static readonly Counter Cells = Metrics.CreateCounter(
        "evalmesh_cells_total", "Cells stored, by outcome (pass, fail, error), format and endpoint.", "outcome", "format", "endpoint");

    private static readonly Histogram CellLatency = Metrics.CreateHistogram(
        "evalmesh_cell_latency_seconds",
        "Time from a cell's prompt to its scored answer.",
        new HistogramConfiguration { LabelNames = ["format", "endpoint"], Buckets = Histogram.ExponentialBuckets(0.001, 2, 16) });

    private static readonly Counter PromptTokens = Metrics.CreateCounter(
        "evalmesh_prompt_tokens_total", "Prompt tokens of stored cells, by format and tokenizer.", "format", "tokenizer");

    private static readonly Gauge Runs = Metrics.CreateGauge(
        "evalmesh_runs", "Runs by state (pending, running, completed, failed, cancelled).", "state");

    private static readonly CurrentGauge RunCells = new(Metrics.CreateGauge(
        "evalmesh_run_cells", "Cells of each unfinished run: done (with a result) and planned (the whole matrix).", "run", "state"));

    /// <summary>
    /// Creates a shard's series at zero when it starts, every outcome included, so that rates and ratios over them
    /// count its first cells and have no gaps.
    /// </summary>
    public static void Starting(IEnumerable<string> formats, string endpoint, IEnumerable<string> tokenizers)
    {
        foreach (var format in formats)
        {
            foreach (var outcome in Outcomes)
            {
                Cells.WithLabels(outcome, format, endpoint);
            }

            CellLatency.WithLabels(format, endpoint);
            foreach (var tokenizer in tokenizers)
            {
                PromptTokens.WithLabels(format, tokenizer);
            }
        }
    }

    /// <summary>Records a cell once it is stored.</summary>
    public static void Stored(CellResult result)
    {
        var outcome = result.Outcome switch
        {
            CellOutcome.Passed => Outcomes[0],
            CellOutcome.Failed => Outcomes[1],
            _ => Outcomes[2],
        };
        Cells.WithLabels(outcome, result.Format, result.Endpoint).Inc();
        CellLatency.WithLabels(result.Format, result.Endpoint).Observe(result.LatencyMs / 1000);
        foreach (var (tokenizer, tokens) in result.PromptTokens)
        {
            PromptTokens.WithLabels(result.Format, tokenizer).Inc(tokens);
        }
    }

    /// <summary>Publishes the run index: counts by state, and each unfinished run's progress (finished runs are dropped).</summary>
    public static void Indexed(IReadOnlyCollection<RunStatus> runs)
    {
        foreach (var state in Enum.GetValues<RunState>())
        {
            Runs.WithLabels(Label(state)).Set(runs.Count(r => r.State == state));
        }

        RunCells.Publish(runs.Where(r => !r.IsFinished).SelectMany(r => new[]
        {
            (new[] { r.RunId, "done" }, (double)r.Completed),
            (new[] { r.RunId, "planned" }, (double)r.Total),
        }));
    }

    private static string Label(RunState state) => state.ToString().ToLowerInvariant();
}
