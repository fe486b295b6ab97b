using EvalMesh.Abstractions;

namespace EvalMesh.Grains.Runs;

/// <summary>
/// A shard of a run. Its cells run on a <see cref="ShardRunner"/>; the grain starts, stops and keeps it. After a silo
/// dies the run grain calls again, the shard activates on a survivor, and the runner skips what is already stored.
/// </summary>
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
