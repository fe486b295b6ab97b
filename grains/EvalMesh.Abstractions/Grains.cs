namespace EvalMesh.Abstractions;

/// <summary>A dataset's records, content-addressed (key = dataset id), with its rendered context cached per format.</summary>
[Alias("evalmesh.dataset")]
public interface IDatasetGrain : IGrainWithStringKey
{
    /// <summary>Stores the records (JSON Lines) unless they are already stored; the key must be their content hash.</summary>
    [Alias("put")]
    Task PutAsync(string name, string jsonLines);

    /// <summary>Whether records are stored.</summary>
    [Alias("has")]
    Task<bool> HasRecordsAsync();

    /// <summary>The records rendered in a format (cached per activation).</summary>
    [Alias("render")]
    Task<string> RenderAsync(string format);

    /// <summary>Some records (1-based numbers, rendered in dataset order) in a format: a question's own context.</summary>
    [Alias("render-records")]
    Task<string> RenderAsync(string format, IReadOnlyList<int> records);
}

/// <summary>A test suite's cases, content-addressed (key = suite id).</summary>
[Alias("evalmesh.suite")]
public interface ITestSuiteGrain : IGrainWithStringKey
{
    /// <summary>Stores the cases (as JSON) unless already stored.</summary>
    [Alias("put")]
    Task PutAsync(string name, string casesJson);

    /// <summary>Whether cases are stored.</summary>
    [Alias("has")]
    Task<bool> HasCasesAsync();

    /// <summary>The cases as JSON.</summary>
    [Alias("get")]
    Task<string> GetCasesJsonAsync();
}

/// <summary>
/// An eval run (key = run id): expands the matrix into shards, dispatches them across the cluster, keeps progress and
/// aggregates (persisted) and resumes unfinished shards after a silo dies. Its results are read through
/// <see cref="IRunResultsGrain"/>, so that reading a big run never holds up the run's own calls.
/// </summary>
[Alias("evalmesh.run")]
public interface IEvalRunGrain : IGrainWithStringKey
{
    /// <summary>Starts the run; calling it again with the run already started changes nothing.</summary>
    [Alias("start")]
    Task<RunStatus> StartAsync(RunSpec spec);

    /// <summary>The run's state and progress.</summary>
    [Alias("status")]
    Task<RunStatus> GetStatusAsync();

    /// <summary>Cancels the run's unfinished shards.</summary>
    [Alias("cancel")]
    Task<RunStatus> CancelAsync();

    /// <summary>Re-runs the cells that errored and any unfinished ones.</summary>
    [Alias("resume")]
    Task<RunStatus> ResumeAsync();

    /// <summary>A shard's cumulative progress.</summary>
    [Alias("report-shard")]
    Task ReportShardAsync(int shardNo, ShardProgress progress);

    /// <summary>What readers of the run's results need: its status, spec and shard count.</summary>
    [Alias("outline")]
    Task<RunOutline> GetOutlineAsync();
}

/// <summary>
/// A run's stored results (key = run id): every cell, the report built from them, and the prompts' shared heads. It
/// holds no state and reads the result store outside the run grain, so status calls never wait behind a report.
/// </summary>
[Alias("evalmesh.run-results")]
public interface IRunResultsGrain : IGrainWithStringKey
{
    /// <summary>The report, computed from every stored result.</summary>
    [Alias("report")]
    Task<RunReport> GetReportAsync();

    /// <summary>Every stored result, one per cell, streamed.</summary>
    [Alias("results")]
    IAsyncEnumerable<CellResult> GetResultsAsync();

    /// <summary>The shared head of the prompts of each suite and format; with a cell's tail it is the whole prompt.</summary>
    [Alias("prompt-heads")]
    Task<IReadOnlyList<PromptHead>> GetPromptHeadsAsync();
}

/// <summary>A shard of a run (key = run id/shard number): runs its cells, writes results, reports progress.</summary>
[Alias("evalmesh.shard")]
public interface IEvalShardGrain : IGrainWithStringKey
{
    /// <summary>Starts the shard if it is not running (skipping cells already stored) and returns its progress.</summary>
    [Alias("ensure-running")]
    Task<ShardProgress> EnsureRunningAsync(ShardSpec spec, bool retryErrors);

    /// <summary>Stops the shard.</summary>
    [Alias("cancel")]
    Task CancelAsync();
}

/// <summary>The list of runs (a single grain, key "all").</summary>
[Alias("evalmesh.run-index")]
public interface IRunIndexGrain : IGrainWithStringKey
{
    /// <summary>Records a run's latest status.</summary>
    [Alias("upsert")]
    Task UpsertAsync(RunStatus status);

    /// <summary>Every run, newest first.</summary>
    [Alias("list")]
    Task<IReadOnlyList<RunStatus>> ListAsync();
}

/// <summary>
/// The routing target for local inference (key = <c>model|adapter</c>): every local llama call goes through it, so an
/// adapter's requests land on one silo, which batches them and keeps the adapter resident.
/// </summary>
[Alias("evalmesh.adapter-host")]
public interface IAdapterHostGrain : IGrainWithStringKey
{
    /// <summary>
    /// Runs one completion on this grain's base model and adapter: with <paramref name="stream"/>, its text as it is
    /// generated and then a last chunk with the reply; without, the reply alone. Either way the call is streamed, which
    /// Orleans long-polls, so it lasts as long as the generation does rather than a messaging timeout, and a caller
    /// that stops listening (or cancels) stops the generation.
    /// </summary>
    [Alias("infer")]
    IAsyncEnumerable<InferenceChunk> InferAsync(InferenceRequest request, bool stream, CancellationToken cancellationToken = default);

    /// <summary>Loads this host's adapter now, for work that is coming; returns whether it was already resident.</summary>
    [Alias("prefetch")]
    Task<bool> PrefetchAsync();
}

/// <summary>A registered LoRA adapter (key = <c>model:name</c>).</summary>
[Alias("evalmesh.lora-adapter")]
public interface ILoraAdapterGrain : IGrainWithStringKey
{
    /// <summary>Registers (or re-registers) the adapter after validating its file against the base model.</summary>
    [Alias("register")]
    Task<AdapterRegistration> RegisterAsync(string path);

    /// <summary>The registration, or null.</summary>
    [Alias("get")]
    Task<AdapterRegistration?> GetAsync();
}

/// <summary>The list of registered adapters (a single grain, key "all").</summary>
[Alias("evalmesh.adapter-registry")]
public interface IAdapterRegistryGrain : IGrainWithStringKey
{
    /// <summary>Adds or updates a registration.</summary>
    [Alias("upsert")]
    Task UpsertAsync(AdapterRegistration registration);

    /// <summary>Every registration.</summary>
    [Alias("list")]
    Task<IReadOnlyList<AdapterRegistration>> ListAsync();
}
