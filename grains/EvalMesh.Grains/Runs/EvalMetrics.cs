using EvalMesh.Abstractions;
using Prometheus;

namespace EvalMesh.Grains.Runs;

/// <summary>
/// Eval metrics, exported at a silo's <c>/metrics</c>: cells stored by outcome, format and endpoint, their latency, and
/// their prompt tokens by format and tokenizer. Labels are bounded (a run's formats, endpoints and tokenizers); no
/// prompt, output or cell id ever becomes one.
/// </summary>
internal static class EvalMetrics
{
    private static readonly Counter Cells = Metrics.CreateCounter(
        "evalmesh_cells_total", "Cells stored, by outcome (pass, fail, error), format and endpoint.", "outcome", "format", "endpoint");

    private static readonly Histogram CellLatency = Metrics.CreateHistogram(
        "evalmesh_cell_latency_seconds",
        "Time from a cell's prompt to its scored answer.",
        new HistogramConfiguration { LabelNames = ["format", "endpoint"], Buckets = Histogram.ExponentialBuckets(0.001, 2, 16) });

    private static readonly Counter PromptTokens = Metrics.CreateCounter(
        "evalmesh_prompt_tokens_total", "Prompt tokens of stored cells, by format and tokenizer.", "format", "tokenizer");

    /// <summary>Records a cell once it is stored.</summary>
    public static void Stored(CellResult result)
    {
        var outcome = result.Outcome switch
        {
            CellOutcome.Passed => "pass",
            CellOutcome.Failed => "fail",
            _ => "error",
        };
        Cells.WithLabels(outcome, result.Format, result.Endpoint).Inc();
        CellLatency.WithLabels(result.Format, result.Endpoint).Observe(result.LatencyMs / 1000);
        foreach (var (tokenizer, tokens) in result.PromptTokens)
        {
            PromptTokens.WithLabels(result.Format, tokenizer).Inc(tokens);
        }
    }
}
