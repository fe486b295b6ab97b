using EvalMesh.Abstractions;

namespace EvalMesh.Grains.Runs;

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

    /// <summary>The shards, in the order they run.</summary>
    [Id(5)] public List<ShardPlan> Shards { get; set; } = [];

    /// <summary>Each shard's latest cumulative progress.</summary>
    [Id(6)] public Dictionary<int, ShardProgress> Progress { get; set; } = [];

    /// <summary>Whether shards should re-run errored cells (set by resume).</summary>
    [Id(7)] public bool RetryErrors { get; set; }

    /// <summary>The run's status, with its per-position aggregates merged from its shards' latest progress.</summary>
    public RunStatus StatusOf(string runId)
    {
        var spec = Spec ?? throw new InvalidOperationException("the run has not started");
        var matrix = Progress.Values
            .SelectMany(p => p.Aggregates)
            .GroupBy(a => (a.Suite, a.Format, a.Endpoint))
            .Select(g => g.Aggregate((a, b) => a.Merge(b)))
            .ToList();
        return new RunStatus(
            runId,
            State,
            spec.Description,
            (int)spec.TotalCells, // within int: runs over MaxCellsPerRun (an int) are refused
            Progress.Values.Sum(p => p.Completed),
            matrix.Sum(m => m.Passed),
            matrix.Sum(m => m.Failed),
            matrix.Sum(m => m.Errors),
            CreatedAt,
            UpdatedAt,
            Message,
            matrix);
    }
}
