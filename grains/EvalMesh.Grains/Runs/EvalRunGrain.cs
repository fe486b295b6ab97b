using EvalMesh.Abstractions;
using EvalMesh.Client;
using EvalMesh.Contracts;
using EvalMesh.Evaluation;
using EvalMesh.Grains.Hosting;
using EvalMesh.Grains.Routing;
using EvalMesh.Inference.Endpoints;
using Microsoft.Extensions.Logging;

namespace EvalMesh.Grains.Runs;

/// <summary>
/// An eval run. Expands the matrix into shards per suite and endpoint, dispatches them, and keeps only progress and
/// aggregates (persisted). A timer re-dispatches shards that stop reporting: after a silo dies, their grains activate
/// on the survivors and carry on from what the result store already holds.
/// </summary>
public sealed partial class EvalRunGrain(
    [PersistentState("run", EvalMeshSilo.StorageName)] IPersistentState<EvalRunState> state,
    EvalMeshOptions options,
    ModelCatalog catalog,
    AdapterRouter router,
    TimeProvider time,
    ILogger<EvalRunGrain> logger) : Grain, IEvalRunGrain
{
    private static readonly TimeSpan TickEvery = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan StaleAfter = TimeSpan.FromSeconds(5);

    private readonly Dictionary<int, DateTimeOffset> _lastHeard = [];
    private IGrainTimer? _timer;
    private bool _dirty;
    private (DateTimeOffset Since, string Problem)? _stalled;
    private DirectorySnapshot _residency = DirectorySnapshot.Empty;
    private ShardSchedule? _schedule;

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
        var plan = ShardSchedule.Plan(spec);
        var order = ShardSchedule.For(spec, plan).Order(_residency);
        state.State = new EvalRunState
        {
            Spec = spec,
            State = RunState.Running,
            CreatedAt = now,
            UpdatedAt = now,
            Shards = [.. order.Select(i => plan[i])],
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

        await ReleaseIfFinishedAsync(shardNo);
        if (Unfinished().Count == 0)
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
    public Task<RunOutline> GetOutlineAsync() => Task.FromResult(new RunOutline(Status(), state.State.Spec!, state.State.Shards.Count));

    /// <summary>The run's schedule over its shards in run order.</summary>
    private ShardSchedule Schedule => _schedule ??= ShardSchedule.For(state.State.Spec!, state.State.Shards);

    private IEvalShardGrain Shard(int shardNo) => GrainFactory.GetShard(RunId, shardNo);

    private ShardSpec SpecOf(int shardNo) => new(RunId, shardNo, state.State.Spec!, state.State.Shards[shardNo]);

    private List<int> Unfinished() =>
        [.. Enumerable.Range(0, state.State.Shards.Count).Where(i => !state.State.Progress.TryGetValue(i, out var p) || !p.Done)];

    private IReadOnlyList<int> Window() => Schedule.Window(Unfinished(), _residency);

    /// <summary>Loads the adapters of the next shards on their homes while the current ones run, as far as slots are free.</summary>
    private void PrefetchUpcoming()
    {
        foreach (var adapter in Schedule.Prefetch(Window(), Unfinished(), _residency))
        {
            _ = router.PrefetchAsync(adapter).ContinueWith(t => LogAdapterHintFailed(t.Exception!, RunId, "prefetching", adapter), CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }
    }

    /// <summary>
    /// Once no unfinished shard needs a finished shard's adapter, the directory is told the run is done with it, so
    /// that it, not an adapter still to be used, makes room for the next shards' loads (which are placed after this).
    /// </summary>
    private async Task ReleaseIfFinishedAsync(int finished)
    {
        if (Schedule.Released(finished, Unfinished()) is not { } adapter)
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
        var adapters = state.State.State == RunState.Running ? Schedule.Leased(Window()) : [];
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

        if (Unfinished().Count == 0)
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

    private RunStatus Status() => state.State.Spec is null ? throw new RunNotFoundException(RunId) : state.State.StatusOf(RunId);
}
