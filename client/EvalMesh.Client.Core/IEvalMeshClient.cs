using EvalMesh.Abstractions;
using EvalMesh.Evaluation.Configuration;

namespace EvalMesh.Client;

/// <summary>
/// An EvalMesh cluster seen from a .NET service: start format × model eval runs, watch them, read their reports and
/// results, compare runs, register LoRA adapters and run inference routed to the silo that holds the adapter.
/// It comes in two flavours with the same behaviour: services inside the cluster register the Orleans client
/// (<c>builder.AddEvalMeshClient(...)</c>, package EvalMesh.Client); services anywhere else register the HTTP client
/// (<c>services.AddEvalMeshHttpClient(new Uri(...), apiKey)</c>, package EvalMesh.Client.Http), which talks to a silo's
/// REST API.
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

    /// <summary>
    /// Starts a run of a spec whose datasets and suites the cluster already holds, such as another run's spec with an
    /// endpoint added (<see cref="GetRunSpecAsync"/>). Starting an existing id again changes nothing.
    /// </summary>
    /// <param name="spec">The run's spec.</param>
    /// <param name="runId">The run's id.</param>
    /// <param name="cancellationToken">Cancels the start, not the run.</param>
    Task<RunStatus> StartRunAsync(RunSpec spec, string runId, CancellationToken cancellationToken = default);

    /// <summary>The spec a run was started with: its suites (by upload), formats, endpoints and settings.</summary>
    /// <exception cref="RunNotFoundException">There is no such run.</exception>
    Task<RunSpec> GetRunSpecAsync(string runId, CancellationToken cancellationToken = default);

    /// <summary>A run's state, progress and live aggregates.</summary>
    Task<RunStatus> GetRunAsync(string runId, CancellationToken cancellationToken = default);

    /// <summary>Every run, newest first (their latest recorded state).</summary>
    Task<IReadOnlyList<RunStatus>> ListRunsAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// A run's status, read every <paramref name="interval"/> (default 100 ms), until it finishes; the last item is
    /// final. The Orleans flavour yields every reading; the HTTP flavour is sent the status by the silo as server-sent
    /// events when it changes (and at least every 15 s), and reconnects if the stream breaks off.
    /// </summary>
    IAsyncEnumerable<RunStatus> WatchRunAsync(string runId, TimeSpan? interval = null, CancellationToken cancellationToken = default);

    /// <summary>The run's report: accuracy with Wilson intervals, tokens, latency, categories, McNemar comparisons and the recommended format.</summary>
    Task<RunReport> GetReportAsync(string runId, CancellationToken cancellationToken = default);

    /// <summary>Every cell result of a run, streamed, one per cell.</summary>
    IAsyncEnumerable<CellResult> GetResultsAsync(string runId, CancellationToken cancellationToken = default);

    /// <summary>The shared head of a run's prompts per suite and format; a cell's whole prompt is its head followed by its <see cref="CellResult.PromptTail"/>.</summary>
    Task<IReadOnlyList<PromptHead>> GetPromptHeadsAsync(string runId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Compares <paramref name="candidate"/> with <paramref name="baseline"/> case by case, one row per suite, endpoint
    /// and format of either (<see cref="RunComparison"/>).
    /// </summary>
    /// <param name="baseline">The run compared against.</param>
    /// <param name="candidate">The run under test.</param>
    /// <param name="alpha">The two-sided significance level of the test, and 1 − the interval's confidence.</param>
    /// <param name="cancellationToken">Cancels the comparison.</param>
    /// <exception cref="RunNotFoundException">Either run does not exist.</exception>
    Task<IReadOnlyList<ComparisonRow>> CompareRunsAsync(string baseline, string candidate, double alpha = 0.05, CancellationToken cancellationToken = default);

    /// <summary>Cancels a run.</summary>
    Task<RunStatus> CancelRunAsync(string runId, CancellationToken cancellationToken = default);

    /// <summary>Resumes a run: re-runs its errored cells and any unfinished ones.</summary>
    Task<RunStatus> ResumeRunAsync(string runId, CancellationToken cancellationToken = default);

    /// <summary>Registers a LoRA adapter file (validated against its base model) as <c>model:name</c>.</summary>
    Task<AdapterRegistration> RegisterAdapterAsync(string model, string name, string path, CancellationToken cancellationToken = default);

    /// <summary>
    /// Starts training a LoRA adapter on a silo (<see cref="ITrainingGrain"/>), which registers it as
    /// <c>model:name</c> when done. Starting an existing job id again changes nothing.
    /// </summary>
    Task<TrainingStatus> StartTrainingAsync(string jobId, TrainingRequest request, CancellationToken cancellationToken = default);

    /// <summary>A training job's progress.</summary>
    /// <exception cref="TrainingJobNotFoundException">There is no such job.</exception>
    Task<TrainingStatus> GetTrainingAsync(string jobId, CancellationToken cancellationToken = default);

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
