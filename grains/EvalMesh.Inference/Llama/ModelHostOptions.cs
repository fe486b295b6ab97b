using Microsoft.Extensions.Options;

namespace EvalMesh.Inference.Llama;

/// <summary>Settings of the per-process model host (configuration section <c>EvalMesh:ModelHost</c>).</summary>
public sealed class ModelHostOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "EvalMesh:ModelHost";

    /// <summary>The name replies give as where they ran (<see cref="Abstractions.InferenceRoute.Host"/>); a silo names its address.</summary>
    public string Name { get; set; } = Environment.MachineName;

    /// <summary>The most adapter bytes kept loaded (file size is the measure); least recently used ones go first.</summary>
    public long AdapterBudgetBytes { get; set; } = 1L << 30;

    /// <summary>The most adapters kept loaded.</summary>
    public int MaxAdapters { get; set; } = 32;

    /// <summary>Which idle adapter makes room (see <see cref="EvictionPolicy"/>).</summary>
    public EvictionPolicy Eviction { get; set; } = EvictionPolicy.Frequency;

    /// <summary>
    /// How long a request for an adapter that is not loaded may wait, when the adapter that should make room for it is
    /// serving requests, for them to end, instead of evicting an adapter used more (and loading that again later). It
    /// waits only if they will have ended by then even at their full token budgets (at the recent time per step), so a
    /// long generation is never waited for in vain. Zero evicts the best idle adapter at once.
    /// </summary>
    public TimeSpan VictimWait { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// The most requests for one base model (any adapter) that may wait for a batch slot; beyond it a request is refused
    /// at once as <see cref="InferenceProblem.Overloaded"/> with a time to try again, which the gateway answers as 429
    /// with Retry-After and an eval shard waits out.
    /// </summary>
    public int MaxWaitingRequests { get; set; } = 256;

    /// <summary>
    /// The fewest leading tokens a request without a declared shared prefix must have in common with the context's cached
    /// prompt for its KV cache to be reused (automatic prefix caching, as llama-server's <c>cache_prompt</c>).
    /// </summary>
    public int MinCachedPrefix { get; set; } = 32;

    /// <summary>
    /// The context window: the most tokens a request's prompt and generation may take. With <see cref="KvUnified"/> it is
    /// also a context's KV cache cells (one context per base+adapter), shared by its cached prompt and its batch; without,
    /// each sequence has a stream of this many cells.
    /// </summary>
    public int ContextSize { get; set; } = 16384;

    /// <summary>
    /// The most contexts kept open, each for one base+adapter with its own KV cache and cached prefix; the least
    /// recently used idle one is closed to open another.
    /// </summary>
    public int MaxContexts { get; set; } = 8;

    /// <summary>The most tokens in one decode call.</summary>
    public int BatchSize { get; set; } = 2048;

    /// <summary>
    /// Tokens per llama.cpp micro-batch. Its attention scratch grows with micro-batch × context cells, so on CPU a small
    /// one (128) was both faster and ~250 MB lighter than 512 for three 16k contexts; GPUs want 512 or more.
    /// </summary>
    public int MicroBatchSize { get; set; } = 128;

    /// <summary>The most sequences decoded together in one batch.</summary>
    public int MaxBatchSequences { get; set; } = 8;

    /// <summary>
    /// Model layers offloaded to the GPU: 0 (the default) keeps everything on the CPU; a CUDA build
    /// (<c>-p:LlamaBackend=Cuda12</c>) sets it to the model's layer count or more (999 offloads every layer).
    /// </summary>
    public int GpuLayers { get; set; }

    /// <summary>CPU threads per decode; on 2 cores one was steadier and faster for small models.</summary>
    public int Threads { get; set; } = 1;

    /// <summary>
    /// llama.cpp flash attention. Off by default on CPU: with it on, attending over a long cached prefix was ~5× slower
    /// here and prefix reuse gained 2.7× instead of 15× (see README).
    /// </summary>
    public bool FlashAttention { get; set; }

    /// <summary>Reuse the KV cache of shared prompt prefixes (on by default; off only to measure what it saves).</summary>
    public bool PrefixReuse { get; set; } = true;

    /// <summary>Batch concurrent requests for the same base and adapter (on by default; off to measure).</summary>
    public bool Batching { get; set; } = true;

    /// <summary>
    /// One KV cache shared by a context's sequences (true: llama.cpp's <c>kv_unified</c>), in which every token of a batch
    /// attends over the cells of all its sequences; or (false) a stream for each sequence and the cached prompt
    /// (<see cref="ContextSize"/> cells each, so <see cref="MaxBatchSequences"/> + 1 times the KV memory), in which a
    /// token attends only over its own sequence's and a cached prompt is shared by copying it (see README). Unset (the
    /// default), a model gets the streams when they take at most <see cref="KvStreamBudgetBytes"/> a context, as a small
    /// model's do, and one cache otherwise.
    /// </summary>
    public bool? KvUnified { get; set; }

    /// <summary>
    /// With <see cref="KvUnified"/> unset, the most KV memory (16-bit keys and values) a context's streams may take for a
    /// model to get a stream per sequence: at the defaults the built-in tiny model's take 113 MB, a 0.5B Qwen2.5's 1.8 GB.
    /// </summary>
    public long KvStreamBudgetBytes { get; set; } = 256L << 20;
}

/// <summary>Checks <see cref="ModelHostOptions"/> at start-up, naming the setting and its environment variable.</summary>
public sealed class ModelHostOptionsValidator : IValidateOptions<ModelHostOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, ModelHostOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        Check(options.AdapterBudgetBytes > 0, nameof(options.AdapterBudgetBytes), "must be positive");
        Check(options.MaxAdapters > 0, nameof(options.MaxAdapters), "must be positive");
        Check(options.ContextSize >= 256, nameof(options.ContextSize), "must be at least 256");
        Check(options.BatchSize >= 32, nameof(options.BatchSize), "must be at least 32");
        Check(options.MicroBatchSize is >= 16 and <= 8192, nameof(options.MicroBatchSize), "must be between 16 and 8192");
        Check(options.MaxBatchSequences is >= 1 and <= 255, nameof(options.MaxBatchSequences), "must be between 1 and 255");
        Check(options.KvUnified != false || (long)options.ContextSize * (options.MaxBatchSequences + 1) <= int.MaxValue, nameof(options.KvUnified), "false needs ContextSize × (MaxBatchSequences + 1) KV cells, more than 2^31 - 1");
        Check(options.KvStreamBudgetBytes >= 0, nameof(options.KvStreamBudgetBytes), "must not be negative");
        Check(options.MaxContexts >= 1, nameof(options.MaxContexts), "must be at least 1");
        Check(options.MaxWaitingRequests >= 1, nameof(options.MaxWaitingRequests), "must be at least 1");
        Check(options.MinCachedPrefix >= 1, nameof(options.MinCachedPrefix), "must be at least 1");
        Check(Enum.IsDefined(options.Eviction), nameof(options.Eviction), "must be Frequency or Lru");
        Check(options.VictimWait >= TimeSpan.Zero, nameof(options.VictimWait), "must not be negative");
        Check(options.Threads >= 1, nameof(options.Threads), "must be at least 1");
        Check(options.GpuLayers >= 0, nameof(options.GpuLayers), "must not be negative");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);

        void Check(bool ok, string setting, string problem)
        {
            if (!ok)
            {
                failures.Add($"{ModelHostOptions.Section}:{setting} {problem} (environment variable EvalMesh__ModelHost__{setting})");
            }
        }
    }
}
