using EvalMesh.Abstractions;

namespace EvalMesh.Grains.Runs;

/// <summary>Persisted state of the run index.</summary>
[GenerateSerializer, Alias("evalmesh.run-index-state")]
public sealed class RunIndexState
{
    /// <summary>Each run's latest status, without its matrix.</summary>
    [Id(0)] public Dictionary<string, RunStatus> Runs { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>The list of runs, so that <c>evalmesh runs</c> and <c>GET /api/runs</c> can answer; its silo exports the run metrics.</summary>
public sealed class RunIndexGrain([PersistentState("runs", EvalMeshSilo.StorageName)] IPersistentState<RunIndexState> state) : Grain, IRunIndexGrain
{
    /// <inheritdoc />
    public async Task UpsertAsync(RunStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        var summary = status with { Matrix = [] };
        if (state.State.Runs.TryGetValue(status.RunId, out var existing)
            && (existing.State, existing.Total, existing.Completed, existing.Passed, existing.Failed, existing.Errors, existing.Message)
                == (summary.State, summary.Total, summary.Completed, summary.Passed, summary.Failed, summary.Errors, summary.Message))
        {
            return;
        }

        state.State.Runs[status.RunId] = summary;
        await state.WriteStateAsync();
        EvalMetrics.Indexed(state.State.Runs.Values);
    }

    /// <inheritdoc />
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        EvalMetrics.Indexed(state.State.Runs.Values);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<RunStatus>> ListAsync() =>
        Task.FromResult<IReadOnlyList<RunStatus>>([.. state.State.Runs.Values.OrderByDescending(r => r.CreatedAt)]);
}
