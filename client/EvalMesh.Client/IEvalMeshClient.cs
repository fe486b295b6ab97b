using EvalMesh.Abstractions;
using EvalMesh.Evaluation.Configuration;

namespace EvalMesh.Client;

/// <summary>
/// An EvalMesh cluster seen from a .NET service: start format × model eval runs, watch them, read their reports and
/// results, register LoRA adapters and run inference routed to the silo that holds the adapter.
/// Register it with <see cref="EvalMeshClientExtensions.AddEvalMeshClient(Microsoft.Extensions.Hosting.IHostApplicationBuilder, Action{EvalMeshClientOptions})"/>.
/// </summary>
public interface IEvalMeshClient
{
    /// <summary>
    /// Starts a run of a parsed config: loads or generates its datasets and suites here, uploads them (content-addressed,
    /// so nothing is sent twice) and starts the run. Returns the run's first status; its <see cref="RunStatus.RunId"/>
    /// names it from then on.
    /// </summary>
    /// <param name="config">The config, as <see cref="ConfigLoader"/> reads it.</param>
    /// <param name="runId">An id to use instead of a generated one; starting an existing id again changes nothing.</param>
    /// <param name="cancellationToken">Cancels the upload and start, not the run.</param>
    Task<RunStatus> StartRunAsync(EvalConfig config, string? runId = null, CancellationToken cancellationToken = default);

    /// <summary>A run's state, progress and live aggregates.</summary>
    Task<RunStatus> GetRunAsync(string runId, CancellationToken cancellationToken = default);

    /// <summary>Every run, newest first (their latest recorded state).</summary>
    Task<IReadOnlyList<RunStatus>> ListRunsAsync(CancellationToken cancellationToken = default);

    /// <summary>A run's status every <paramref name="interval"/> (default 100 ms) until it finishes; the last item is final.</summary>
    IAsyncEnumerable<RunStatus> WatchRunAsync(string runId, TimeSpan? interval = null, CancellationToken cancellationToken = default);

    /// <summary>The run's report: accuracy with Wilson intervals, tokens, latency, categories, McNemar comparisons and the recommended format.</summary>
    Task<RunReport> GetReportAsync(string runId, CancellationToken cancellationToken = default);

    /// <summary>Every cell result of a run, streamed, one per cell.</summary>
    IAsyncEnumerable<CellResult> GetResultsAsync(string runId, CancellationToken cancellationToken = default);

    /// <summary>The shared head of a run's prompts per suite and format; a cell's whole prompt is its head followed by its <see cref="CellResult.PromptTail"/>.</summary>
    Task<IReadOnlyList<PromptHead>> GetPromptHeadsAsync(string runId, CancellationToken cancellationToken = default);

    /// <summary>Cancels a run.</summary>
    Task<RunStatus> CancelRunAsync(string runId, CancellationToken cancellationToken = default);

    /// <summary>Resumes a run: re-runs its errored cells and any unfinished ones.</summary>
    Task<RunStatus> ResumeRunAsync(string runId, CancellationToken cancellationToken = default);

    /// <summary>Registers a LoRA adapter file (validated against its base model) as <c>model:name</c>.</summary>
    Task<AdapterRegistration> RegisterAdapterAsync(string model, string name, string path, CancellationToken cancellationToken = default);

    /// <summary>Every registered adapter.</summary>
    Task<IReadOnlyList<AdapterRegistration>> ListAdaptersAsync(CancellationToken cancellationToken = default);

    /// <summary>Runs one completion on <c>model</c> or <c>model:adapter</c>, on the silo that serves that adapter.</summary>
    Task<InferenceReply> InferAsync(string model, string prompt, GenerationOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Runs one completion like <see cref="InferAsync"/>, streamed: its text as it is generated, then a last chunk with
    /// the whole reply. Stopping the enumeration stops the generation.
    /// </summary>
    IAsyncEnumerable<InferenceChunk> StreamInferenceAsync(string model, string prompt, GenerationOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>The residency directory: per silo, its capacity, load and adapters (resident or not, loads, hits, evictions).</summary>
    Task<DirectorySnapshot> GetResidencyAsync(CancellationToken cancellationToken = default);

    /// <summary>Unloads <c>model:adapter</c> from every silo that holds it and is not using it; returns those silos.</summary>
    Task<IReadOnlyList<string>> EvictAdapterAsync(string model, CancellationToken cancellationToken = default);
}
