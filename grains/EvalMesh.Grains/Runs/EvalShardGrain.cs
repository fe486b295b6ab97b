using EvalMesh.Abstractions;

namespace EvalMesh.Grains.Runs;

/// <summary>
/// A shard of a run. Its cells run on a <see cref="ShardRunner"/>; the grain starts, stops and keeps it. After a silo
/// dies the run grain calls again, the shard activates on a survivor, and the runner skips what is already stored.
/// Placed at random, so that a run's shards spread over the silos: Orleans' default placement (resource-optimized,
/// since 9.2) put the burst of a run's shards on the silo that looked least busy when its statistics were last taken,
/// often all of them on one silo, whose loss then stopped the whole run.
/// </summary>
[Orleans.Placement.RandomPlacement]
public sealed class EvalShardGrain(ShardServices services) : Grain, IEvalShardGrain
{
    private ShardRunner? _runner;

    /// <inheritdoc />
    public Task<ShardProgress> EnsureRunningAsync(ShardSpec spec, bool retryErrors)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (_runner is null || (retryErrors && !_runner.IsRunning) || (!_runner.IsRunning && !_runner.Progress.Done))
        {
            _runner?.Cancel();
            _runner = ShardRunner.Start(spec, retryErrors, services);

            // The runner works outside grain calls; keep the activation (and so this single runner) alive meanwhile.
            DelayDeactivation(TimeSpan.FromDays(1));
        }

        return Task.FromResult(_runner.Progress);
    }

    /// <inheritdoc />
    public Task CancelAsync()
    {
        _runner?.Cancel();
        DeactivateOnIdle();
        return Task.CompletedTask;
    }
}
