using EvalMesh.Abstractions;
using EvalMesh.Client;
using EvalMesh.Contracts;
using EvalMesh.Evaluation;
using EvalMesh.Grains.Hosting;
using EvalMesh.Grains.Inference;
using EvalMesh.Grains.Routing;
using EvalMesh.Grains.Storage;
using EvalMesh.Inference.Endpoints;
using Microsoft.Extensions.Logging;

namespace EvalMesh.Grains.Runs;

/// <summary>One shard's place in the matrix.</summary>
/// <param name="SuiteIndex">The suite.</param>
/// <param name="EndpointIndex">The endpoint.</param>
/// <param name="CaseStart">First case (inclusive).</param>
/// <param name="CaseEnd">Last case (exclusive).</param>
[GenerateSerializer, Immutable, Alias("evalmesh.shard-plan")]
public sealed record ShardPlan(
    [property: Id(0)] int SuiteIndex,
    [property: Id(1)] int EndpointIndex,
    [property: Id(2)] int CaseStart,
    [property: Id(3)] int CaseEnd);

/// <summary>Persisted state of a run: its spec, shards and their latest progress. Never the results themselves.</summary>
[GenerateSerializer, Alias("evalmesh.run-state")]
public sealed class EvalRunState
{
    /// <summary>The spec, once started.</summary>
    [Id(0)] public RunSpec? Spec { get; set; }

    /// <summary>The run's state.</summary>
    [Id(1)] public RunState State { get; set; }

    /// <summary>When it started.</summary>
    [Id(2)] public DateTimeOffset CreatedAt { get; set; }

    /// <summary>When it last changed.</summary>
    [Id(3)] public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>Why it failed.</summary>
    [Id(4)] public string? Message { get; set; }

    /// <summary>The shards.</summary>
    [Id(5)] public List<ShardPlan> Shards { get; set; } = [];

    /// <summary>Each shard's latest cumulative progress.</summary>
    [Id(6)] public Dictionary<int, ShardProgress> Progress { get; set; } = [];

    /// <summary>Whether shards should re-run errored cells (set by resume).</summary>
    [Id(7)] public bool RetryErrors { get; set; }
}

/// <summary>
/// An eval run. Expands the matrix into shards per suite and endpoint, dispatches them, and keeps only progress and
/// aggregates (persisted). A timer re-dispatches shards that stop reporting: after a silo dies, their grains activate
/// on the survivors and carry on from what the result store already holds.
/// </summary>
public sealed partial class EvalRunGrain(
    [PersistentState("run", EvalMeshSilo.StorageName)] IPersistentState<EvalRunState> state,
    IResultStore store,
    RunInputs inputs,
    EvalMeshOptions options,
    ModelCatalog catalog,
    AdapterRouter router,
    TimeProvider time,
    ILogger<EvalRunGrain> logger) : Grain, IEvalRunGrain
{
    private static readonly TimeSpan TickEvery = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan StaleAfter = TimeSpan.FromSeconds(5);

    // Shards run a window at a time, so that the work in flight (and memory) does not grow with the size of the run.
    private const int MaxActiveShards = 16;
    private readonly Dictionary<int, DateTimeOffset> _lastHeard = [];
    private IGrainTimer? _timer;
    private bool _dirty;
    private (DateTimeOffset Since, string Problem)? _stalled;
    private DirectorySnapshot _residency = DirectorySnapshot.Empty;

    private string RunId => this.GetPrimaryKeyString();

    /// <inheritdoc />
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (state.State.State == RunState.Running && !options.Passive)
        {
            StartTimer();
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_dirty)
        {
            await state.WriteStateAsync(cancellationToken);
        }
    }

    /// <inheritdoc />
    public async Task<RunStatus> StartAsync(RunSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (state.State.Spec is not null)
        {
            return Status();
        }

        if (options.Passive)
        {
            throw new InvalidOperationException("this silo only reads runs; start runs on a working silo");
        }

        CheckLimits(spec);
        var now = time.GetUtcNow();
        _residency = await GrainFactory.GetAdapterDirectory().GetSnapshotAsync();
        state.State = new EvalRunState
        {
            Spec = spec,
            State = RunState.Running,
            CreatedAt = now,
            UpdatedAt = now,
            Shards = spec.Schedule == RunSchedule.Fifo ? Plan(spec) : AdapterAwareOrder(Plan(spec), spec, _residency),
        };
        await PersistAsync();
        LogStarted(RunId, spec.TotalCells, state.State.Shards.Count);
        await LeaseWindowAsync();
        await DispatchAsync(Window());
        StartTimer();
        return Status();
    }

    /// <inheritdoc />
    public Task<RunStatus> GetStatusAsync() => Task.FromResult(Status());

    /// <inheritdoc />
    public async Task<RunStatus> CancelAsync()
    {
        if (state.State.Spec is null || Status().IsFinished)
        {
            return Status();
        }

        state.State.State = RunState.Cancelled;
        _timer?.Dispose();
        await PersistAsync();
        await LeaseWindowAsync();
        await Task.WhenAll(state.State.Shards.Select((_, i) => Shard(i).CancelAsync()));
        return Status();
    }

    /// <inheritdoc />
    public async Task<RunStatus> ResumeAsync()
    {
        if (state.State.Spec is null)
        {
            throw new RunNotFoundException(RunId);
        }

        state.State.State = RunState.Running;
        state.State.RetryErrors = true;
        state.State.Message = null;
        _stalled = null;

        // Errored cells will be run again, so those shards are no longer done.
        foreach (var (shard, progress) in state.State.Progress.ToList())
        {
            if (progress.Aggregates.Sum(a => a.Errors) > 0 || !progress.Done)
            {
                state.State.Progress[shard] = progress with { Done = false };
            }
        }

        await PersistAsync();
        await LeaseWindowAsync();
        await DispatchAsync(Window());
        StartTimer();
        return Status();
    }

    /// <inheritdoc />
    public async Task ReportShardAsync(int shardNo, ShardProgress progress)
    {
        ArgumentNullException.ThrowIfNull(progress);
        _lastHeard[shardNo] = time.GetUtcNow();
        if (state.State.State != RunState.Running)
        {
            return;
        }

        // A shard that stopped short starts (or extends) a stall; any progress ends it.
        var before = state.State.Progress.TryGetValue(shardNo, out var known) ? known.Completed : 0;
        if (progress.Problem is { } problem && progress.Completed <= before)
        {
            _stalled = (_stalled?.Since ?? time.GetUtcNow(), problem);
        }
        else if (progress.Completed > before)
        {
            _stalled = null;
        }

        state.State.Progress[shardNo] = progress;
        state.State.UpdatedAt = time.GetUtcNow();
        _dirty = true;
        if (!progress.Done)
        {
            return;
        }

        await ReleaseIfFinishedAsync(state.State.Shards[shardNo]);
        if (!Unfinished().Any())
        {
            await CompleteAsync();
        }
        else
        {
            // A shard finished: the next one in the window starts now rather than at the next tick.
            await LeaseWindowAsync();
            await DispatchAsync(Window().Where(i => !_lastHeard.ContainsKey(i)));
        }
    }

    /// <inheritdoc />
    public Task<RunReport> GetReportAsync()
    {
        var spec = state.State.Spec ?? throw new RunNotFoundException(RunId);
        return ReportBuilder.BuildAsync(Status(), spec, store.ReadAsync(RunId, state.State.Shards.Count));
    }

    /// <inheritdoc />
    public IAsyncEnumerable<CellResult> GetResultsAsync() => store.ReadAsync(RunId, state.State.Shards.Count);

    /// <inheritdoc />
    public async Task<IReadOnlyList<PromptHead>> GetPromptHeadsAsync()
    {
        var spec = state.State.Spec ?? throw new RunNotFoundException(RunId);
        var heads = new List<PromptHead>(spec.Suites.Count * spec.Formats.Count);
        foreach (var suite in spec.Suites)
        {
            foreach (var format in spec.Formats)
            {
                heads.Add(new PromptHead(suite.Name, format, (await inputs.TemplateAsync(spec.Prompt, suite.DatasetId, format)).Head));
            }
        }

        return heads;
    }

    private static List<ShardPlan> Plan(RunSpec spec)
    {
        var shards = new List<ShardPlan>();
        var cellsPerCase = Math.Max(1, spec.Formats.Count * spec.Repeats);
        var casesPerShard = Math.Max(1, spec.ShardSize / cellsPerCase);
        for (var s = 0; s < spec.Suites.Count; s++)
        {
            for (var e = 0; e < spec.Endpoints.Count; e++)
            {
                for (var start = 0; start < spec.Suites[s].CaseCount; start += casesPerShard)
                {
                    shards.Add(new ShardPlan(s, e, start, Math.Min(spec.Suites[s].CaseCount, start + casesPerShard)));
                }
            }
        }

        return shards;
    }

    /// <summary>
    /// The adapter-aware order: shards grouped by the adapter they need, adapters already resident somewhere first
    /// (no load at all), then shards that need no adapter, then the rest; so each silo works through what it holds
    /// before any new load, and no adapter is loaded twice in a row because of ordering.
    /// </summary>
    private static List<ShardPlan> AdapterAwareOrder(List<ShardPlan> plan, RunSpec spec, DirectorySnapshot residency)
    {
        var resident = residency.Silos.SelectMany(s => s.Adapters).Where(a => a.Resident).Select(a => a.Key).ToHashSet(StringComparer.Ordinal);
        return [.. plan
            .Select((shard, i) => (Shard: shard, Index: i, Adapter: AdapterOf(spec, shard)))
            .GroupBy(x => x.Adapter ?? string.Empty)
            .OrderBy(g => g.Key.Length == 0 ? 1 : resident.Contains(g.Key) ? 0 : 2)
            .ThenBy(g => g.Min(x => x.Index))
            .SelectMany(g => g.OrderBy(x => x.Index).Select(x => x.Shard))];
    }

    private static string? AdapterOf(RunSpec spec, ShardPlan shard)
    {
        var endpoint = spec.Endpoints[shard.EndpointIndex];
        return endpoint.Type == EndpointType.Llama ? EndpointClients.LlamaKey(endpoint, spec.Adapters) : null;
    }

    private IEvalShardGrain Shard(int shardNo) => GrainFactory.GetShard(RunId, shardNo);

    private ShardSpec SpecOf(int shardNo)
    {
        var plan = state.State.Shards[shardNo];
        return new ShardSpec(RunId, shardNo, state.State.Spec!, plan.SuiteIndex, plan.EndpointIndex, plan.CaseStart, plan.CaseEnd);
    }

    private IEnumerable<int> Unfinished() =>
        Enumerable.Range(0, state.State.Shards.Count).Where(i => !state.State.Progress.TryGetValue(i, out var p) || !p.Done);

    /// <summary>
    /// The shards to run now: up to <see cref="MaxActiveShards"/>, and with the adapter-aware schedule no more distinct
    /// adapters than the cluster can hold at once, so that running shards never evict each other's adapters.
    /// </summary>
    private IEnumerable<int> Window()
    {
        var spec = state.State.Spec!;
        if (spec.Schedule == RunSchedule.Fifo)
        {
            return Unfinished().Take(MaxActiveShards);
        }

        var slots = _residency.Silos.Count == 0 ? int.MaxValue : Math.Max(1, _residency.Silos.Sum(s => s.Capacity));
        var adapters = new HashSet<string>(StringComparer.Ordinal);
        var window = new List<int>();
        foreach (var shard in Unfinished())
        {
            var adapter = AdapterOf(spec, state.State.Shards[shard]);
            if (window.Count == MaxActiveShards || (adapter is not null && !adapters.Contains(adapter) && adapters.Count >= slots))
            {
                break;
            }

            if (adapter is not null)
            {
                adapters.Add(adapter);
            }

            window.Add(shard);
        }

        return window;
    }

    /// <summary>Loads the adapters of the next shards on their homes while the current ones run, as far as slots are free.</summary>
    private void PrefetchUpcoming()
    {
        var spec = state.State.Spec!;
        if (spec.Schedule == RunSchedule.Fifo)
        {
            return;
        }

        var running = Window().Select(i => AdapterOf(spec, state.State.Shards[i])).OfType<string>().ToHashSet(StringComparer.Ordinal);
        var free = _residency.Silos.Sum(s => s.Free);
        foreach (var adapter in Unfinished().Select(i => AdapterOf(spec, state.State.Shards[i])).OfType<string>().Where(a => !running.Contains(a)).Distinct().Take(free))
        {
            _ = router.PrefetchAsync(adapter).ContinueWith(t => LogAdapterHintFailed(t.Exception!, RunId, "prefetching", adapter), CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }
    }

    /// <summary>
    /// Once no unfinished shard needs a finished shard's adapter, the directory is told the run is done with it, so
    /// that it, not an adapter still to be used, makes room for the next shards' loads (which are placed after this).
    /// </summary>
    private async Task ReleaseIfFinishedAsync(ShardPlan finished)
    {
        var spec = state.State.Spec!;
        if (spec.Schedule == RunSchedule.Fifo || AdapterOf(spec, finished) is not { } adapter || Unfinished().Any(i => AdapterOf(spec, state.State.Shards[i]) == adapter))
        {
            return;
        }

        try
        {
            await GrainFactory.GetAdapterDirectory().ReleaseAsync(adapter);
        }
        catch (Exception ex)
        {
            // Only a hint: without it the adapter ages out of the cache by itself.
            LogAdapterHintFailed(ex, RunId, "releasing", adapter);
        }
    }

    /// <summary>
    /// Leases the adapters of the window's shards, so that no load or replica is placed to evict one of them while its
    /// shards run (between two of their requests it may look idle); renewed every tick, and ended when the run ends.
    /// </summary>
    private async Task LeaseWindowAsync()
    {
        var spec = state.State.Spec!;
        if (spec.Schedule == RunSchedule.Fifo)
        {
            return;
        }

        var adapters = state.State.State == RunState.Running
            ? Window().Select(i => AdapterOf(spec, state.State.Shards[i])).OfType<string>().Distinct().ToList()
            : [];
        try
        {
            await GrainFactory.GetAdapterDirectory().LeaseAsync(RunId, adapters);
        }
        catch (Exception ex)
        {
            // Only a hint: without it, placement goes by the silos' reports alone.
            LogLeaseFailed(ex, RunId, adapters.Count);
        }
    }

    private async Task DispatchAsync(IEnumerable<int> shards)
    {
        var retry = state.State.RetryErrors;
        await Task.WhenAll(shards.Select(async i =>
        {
            try
            {
                var progress = await Shard(i).EnsureRunningAsync(SpecOf(i), retry);
                _lastHeard[i] = time.GetUtcNow();
                if (state.State.State == RunState.Running && (!state.State.Progress.TryGetValue(i, out var known) || progress.Completed >= known.Completed))
                {
                    state.State.Progress[i] = progress;
                    _dirty = true;
                }
            }
            catch (Exception ex)
            {
                // The shard's silo may be going away; the next tick tries again, by then on a survivor.
                LogDispatchFailed(ex, RunId, i);
            }
        }));
    }

    /// <summary>Rejects a run over the cell limit, or one whose local models or adapters are outside the allowed folders.</summary>
    private void CheckLimits(RunSpec spec)
    {
        if (spec.TotalCells > options.MaxCellsPerRun)
        {
            throw new RunRejectedException($"the run has {spec.TotalCells:N0} cells, more than EvalMesh:MaxCellsPerRun allows ({options.MaxCellsPerRun:N0})");
        }

        foreach (var endpoint in spec.Endpoints.Where(e => e.Type == EndpointType.Llama))
        {
            try
            {
                catalog.ResolveEndpoint(endpoint, spec.Adapters);
            }
            catch (Exception ex) when (ex is EvalMeshInputException or UnknownNameException)
            {
                throw new RunRejectedException($"endpoint '{endpoint.Name}': {ex.Message}");
            }
        }
    }

    private void StartTimer()
    {
        _timer?.Dispose();
        _timer = this.RegisterGrainTimer(TickAsync, new GrainTimerCreationOptions { DueTime = TickEvery, Period = TickEvery, Interleave = true });
    }

    private async Task TickAsync(CancellationToken cancellationToken)
    {
        if (state.State.State != RunState.Running)
        {
            _timer?.Dispose();
            return;
        }

        var now = time.GetUtcNow();
        if (_stalled is { } stall && now - stall.Since > options.StallDeadline)
        {
            await FailAsync($"its shards kept failing without progress for {options.StallDeadline.TotalSeconds:0} s (EvalMesh:StallDeadline): {stall.Problem}");
            return;
        }

        _residency = await GrainFactory.GetAdapterDirectory().GetSnapshotAsync();
        await LeaseWindowAsync();
        PrefetchUpcoming();
        var stale = Window().Where(i => !_lastHeard.TryGetValue(i, out var heard) || now - heard > StaleAfter).ToList();
        if (stale.Count > 0)
        {
            await DispatchAsync(stale);
        }

        if (!Unfinished().Any())
        {
            await CompleteAsync();
        }
        else if (_dirty)
        {
            await PersistAsync();
        }
    }

    private async Task CompleteAsync()
    {
        state.State.State = RunState.Completed;
        state.State.UpdatedAt = time.GetUtcNow();
        _timer?.Dispose();
        await PersistAsync();
        await LeaseWindowAsync();
        var completed = Status().Completed;
        LogCompleted(RunId, completed);
    }

    private async Task FailAsync(string message)
    {
        state.State.State = RunState.Failed;
        state.State.Message = message;
        state.State.UpdatedAt = time.GetUtcNow();
        _timer?.Dispose();
        LogFailed(RunId, message);
        await LeaseWindowAsync();
        try
        {
            await PersistAsync();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The store may be what failed; the run's state is still answered from memory.
            LogPersistFailed(ex, RunId);
        }
    }

    private async Task PersistAsync()
    {
        await state.WriteStateAsync();
        _dirty = false;
        await GrainFactory.GetRunIndex().UpsertAsync(Status());
    }

    private RunStatus Status()
    {
        var s = state.State;
        if (s.Spec is null)
        {
            throw new RunNotFoundException(RunId);
        }

        var matrix = s.Progress.Values
            .SelectMany(p => p.Aggregates)
            .GroupBy(a => (a.Suite, a.Format, a.Endpoint))
            .Select(g => g.Aggregate((a, b) => a.Merge(b)))
            .ToList();
        return new RunStatus(
            RunId,
            s.State,
            s.Spec.Description,
            (int)s.Spec.TotalCells, // within int: runs over MaxCellsPerRun (an int) are refused
            s.Progress.Values.Sum(p => p.Completed),
            matrix.Sum(m => m.Passed),
            matrix.Sum(m => m.Failed),
            matrix.Sum(m => m.Errors),
            s.CreatedAt,
            s.UpdatedAt,
            s.Message,
            matrix);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Run {RunId} started: {Cells} cells in {Shards} shards")]
    private partial void LogStarted(string runId, long cells, int shards);

    [LoggerMessage(Level = LogLevel.Error, Message = "Run {RunId} failed: {Reason}")]
    private partial void LogFailed(string runId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Run {RunId}: its state could not be stored")]
    private partial void LogPersistFailed(Exception exception, string runId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Run {RunId} completed: {Cells} cells")]
    private partial void LogCompleted(string runId, int cells);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Run {RunId}: {Action} adapter {Adapter} failed")]
    private partial void LogAdapterHintFailed(Exception exception, string runId, string action, string adapter);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Run {RunId}: leasing its window's {Count} adapter(s) failed")]
    private partial void LogLeaseFailed(Exception exception, string runId, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Run {RunId}: shard {Shard} could not be reached; retrying on the next tick")]
    private partial void LogDispatchFailed(Exception exception, string runId, int shard);
}
