using System.Text.Json;
using EvalMesh.Inference.Gguf;
using Prometheus;

namespace EvalMesh.Inference.Llama;

/// <summary>
/// The model host's metrics, exported at a silo's <c>/metrics</c>: requests, tokens, queue, batches and errors, and the
/// adapter cache's loads, hits, misses, evictions and residency against its budget. Base models and adapters are
/// labelled by file name (bounded by what is registered); one process is one silo, so a scrape target is a silo.
/// </summary>
internal static class InferenceMetrics
{
    public static readonly Histogram RequestDuration = Metrics.CreateHistogram(
        "evalmesh_inference_request_duration_seconds",
        "Time from a request's arrival at the model host to its last token, by base model and adapter.",
        new HistogramConfiguration { LabelNames = ["base", "adapter"], Buckets = Histogram.ExponentialBuckets(0.005, 2, 14) });

    public static readonly Histogram TimeToFirstToken = Metrics.CreateHistogram(
        "evalmesh_inference_time_to_first_token_seconds",
        "Time from a request's arrival at the model host to its first generated token (waiting, adapter load, prompt decode), by base model and adapter.",
        new HistogramConfiguration { LabelNames = ["base", "adapter"], Buckets = Histogram.ExponentialBuckets(0.005, 2, 14) });

    public static readonly Counter GeneratedTokens = Metrics.CreateCounter(
        "evalmesh_inference_generated_tokens_total", "Tokens generated (also for requests cancelled before their end), by base model and adapter.", "base", "adapter");

    public static readonly Counter PromptTokens = Metrics.CreateCounter(
        "evalmesh_inference_prompt_tokens_total", "Prompt tokens decoded, by base model; a reused shared prefix counts once.", "base");

    public static readonly Gauge Queue = Metrics.CreateGauge(
        "evalmesh_inference_queue_depth_requests", "Requests in the model host, waiting for a batch slot or running.", "state");

    public static readonly Counter PrefixCacheLookups = Metrics.CreateCounter(
        "evalmesh_prefix_cache_lookups_total",
        "Requests that looked for a cached prompt prefix, by whether they found one (hit) or decoded their whole prompt (miss).", "result");

    public static readonly Counter PrefixCacheSavedTokens = Metrics.CreateCounter(
        "evalmesh_prefix_cache_saved_tokens_total", "Prompt tokens whose KV cache was reused from a cached prefix instead of decoded.");

    public static readonly Histogram BatchSequences = Metrics.CreateHistogram(
        "evalmesh_inference_batch_sequences",
        "Sequences decoded together in one llama.cpp decode call.",
        new HistogramConfiguration { Buckets = [1, 2, 4, 8, 16, 32, 64] });

    public static readonly Counter Errors = Metrics.CreateCounter(
        "evalmesh_inference_errors_total", "Requests the model host could not serve, by kind (context_overflow, adapter_load_failed, a GGUF problem, ...).", "kind");

    public static readonly Counter AdapterLoads = Metrics.CreateCounter(
        "evalmesh_adapter_loads_total", "Adapters loaded into llama.cpp, by base model and adapter.", "base", "adapter");

    public static readonly Counter AdapterEvictions = Metrics.CreateCounter(
        "evalmesh_adapter_evictions_total", "Adapters unloaded to make room or on request, by base model and adapter.", "base", "adapter");

    public static readonly Counter AdapterHits = Metrics.CreateCounter(
        "evalmesh_adapter_hits_total", "Requests whose adapter was already loaded, by base model and adapter.", "base", "adapter");

    public static readonly Counter AdapterMisses = Metrics.CreateCounter(
        "evalmesh_adapter_misses_total", "Requests that had to load their adapter, by base model and adapter.", "base", "adapter");

    public static readonly Histogram AdapterVictimWait = Metrics.CreateHistogram(
        "evalmesh_adapter_victim_wait_seconds",
        "Time a load waited for the adapter that should make room for it to finish a request (see VictimWait).",
        new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.001, 2, 12) });

    public static readonly Histogram AdapterLoadDuration = Metrics.CreateHistogram(
        "evalmesh_adapter_load_duration_seconds",
        "Time to copy, validate and load an adapter.",
        new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.001, 2, 14) });

    public static readonly Gauge AdaptersResident = Metrics.CreateGauge("evalmesh_adapters_resident", "Adapters loaded now.");

    public static readonly Gauge AdapterSlots = Metrics.CreateGauge("evalmesh_adapter_slots", "The most adapters this silo keeps loaded.");

    public static readonly Gauge AdapterResidentBytes = Metrics.CreateGauge("evalmesh_adapter_resident_bytes", "Bytes of the adapters loaded now.");

    public static readonly Gauge AdapterBudgetBytes = Metrics.CreateGauge("evalmesh_adapter_budget_bytes", "The byte budget for loaded adapters.");

    /// <summary>A model or adapter file's label: its name without folder or extension; empty for no adapter.</summary>
    public static string Label(string? path) => path is null ? string.Empty : Path.GetFileNameWithoutExtension(path);

    /// <summary>The error kind of a failed request, in snake case.</summary>
    public static string ErrorKind(Exception exception) => exception switch
    {
        InferenceException e => e.Code,
        GgufException e => JsonNamingPolicy.SnakeCaseLower.ConvertName(e.Problem.ToString()),
        _ => "io",
    };
}
