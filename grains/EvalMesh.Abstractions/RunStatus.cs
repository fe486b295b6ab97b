namespace EvalMesh.Abstractions;

/// <summary>Where a run is in its life.</summary>
public enum RunState
{
    /// <summary>Accepted, not yet dispatched.</summary>
    Pending,

    /// <summary>Shards are running.</summary>
    Running,

    /// <summary>Every cell has a result.</summary>
    Completed,

    /// <summary>The run could not go on (for example a dataset could not be read).</summary>
    Failed,

    /// <summary>Cancelled by a user.</summary>
    Cancelled,
}

/// <summary>Counts and sums for one (suite, format, endpoint) of a run; latencies' percentiles come from the result store.</summary>
/// <param name="Suite">The suite.</param>
/// <param name="Format">The format.</param>
/// <param name="Endpoint">The endpoint.</param>
/// <param name="Cells">Cells with a result.</param>
/// <param name="Passed">Passed cells.</param>
/// <param name="Failed">Failed cells.</param>
/// <param name="Errors">Errored cells.</param>
/// <param name="PromptTokens">Sum of prompt tokens per tokenizer.</param>
/// <param name="CompletionTokens">Sum of completion tokens.</param>
/// <param name="LatencyMs">Sum of latencies.</param>
[GenerateSerializer, Immutable, Alias("evalmesh.matrix-aggregate")]
public sealed record MatrixAggregate(
    [property: Id(0)] string Suite,
    [property: Id(1)] string Format,
    [property: Id(2)] string Endpoint,
    [property: Id(3)] int Cells,
    [property: Id(4)] int Passed,
    [property: Id(5)] int Failed,
    [property: Id(6)] int Errors,
    [property: Id(7)] IReadOnlyDictionary<string, long> PromptTokens,
    [property: Id(8)] long CompletionTokens,
    [property: Id(9)] double LatencyMs)
{
    /// <summary>An empty aggregate for a matrix position.</summary>
    public static MatrixAggregate Empty(string suite, string format, string endpoint) =>
        new(suite, format, endpoint, 0, 0, 0, 0, new Dictionary<string, long>(), 0, 0);

    /// <summary>This aggregate with one more cell.</summary>
    public MatrixAggregate Add(CellResult cell)
    {
        ArgumentNullException.ThrowIfNull(cell);
        var tokens = new Dictionary<string, long>(PromptTokens);
        foreach (var (tokenizer, count) in cell.PromptTokens)
        {
            tokens[tokenizer] = tokens.GetValueOrDefault(tokenizer) + count;
        }

        return this with
        {
            Cells = Cells + 1,
            Passed = Passed + (cell.Outcome == CellOutcome.Passed ? 1 : 0),
            Failed = Failed + (cell.Outcome == CellOutcome.Failed ? 1 : 0),
            Errors = Errors + (cell.Outcome == CellOutcome.Error ? 1 : 0),
            PromptTokens = tokens,
            CompletionTokens = CompletionTokens + (cell.CompletionTokens ?? 0),
            LatencyMs = LatencyMs + cell.LatencyMs,
        };
    }

    /// <summary>The sum of two aggregates of the same matrix position.</summary>
    public MatrixAggregate Merge(MatrixAggregate other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var tokens = new Dictionary<string, long>(PromptTokens);
        foreach (var (tokenizer, count) in other.PromptTokens)
        {
            tokens[tokenizer] = tokens.GetValueOrDefault(tokenizer) + count;
        }

        return this with
        {
            Cells = Cells + other.Cells,
            Passed = Passed + other.Passed,
            Failed = Failed + other.Failed,
            Errors = Errors + other.Errors,
            PromptTokens = tokens,
            CompletionTokens = CompletionTokens + other.CompletionTokens,
            LatencyMs = LatencyMs + other.LatencyMs,
        };
    }
}

/// <summary>A shard's cumulative progress: it replaces the shard's previous report, so nothing is counted twice.</summary>
/// <param name="Total">Cells in the shard.</param>
/// <param name="Completed">Cells with a result.</param>
/// <param name="Done">Whether the shard has finished.</param>
/// <param name="Aggregates">Per (suite, format, endpoint) sums over its completed cells.</param>
/// <param name="Silo">The silo running it.</param>
/// <param name="Problem">Why it stopped short, when it did (such as a result store it cannot reach).</param>
[GenerateSerializer, Immutable, Alias("evalmesh.shard-progress")]
public sealed record ShardProgress(
    [property: Id(0)] int Total,
    [property: Id(1)] int Completed,
    [property: Id(2)] bool Done,
    [property: Id(3)] IReadOnlyList<MatrixAggregate> Aggregates,
    [property: Id(4)] string? Silo,
    [property: Id(5)] string? Problem = null);

/// <summary>A run's state, progress and live aggregates.</summary>
/// <param name="RunId">The run's id.</param>
/// <param name="State">Its state.</param>
/// <param name="Description">What it is for.</param>
/// <param name="Total">Cells in the matrix.</param>
/// <param name="Completed">Cells with a result.</param>
/// <param name="Passed">Passed cells.</param>
/// <param name="Failed">Failed cells (wrong answers).</param>
/// <param name="Errors">Errored cells (no answer), reported apart from wrong answers.</param>
/// <param name="CreatedAt">When it was started.</param>
/// <param name="UpdatedAt">When it last changed.</param>
/// <param name="Message">Why it failed, when it did.</param>
/// <param name="Matrix">Per (suite, format, endpoint) aggregates so far.</param>
[GenerateSerializer, Immutable, Alias("evalmesh.run-status")]
public sealed record RunStatus(
    [property: Id(0)] string RunId,
    [property: Id(1)] RunState State,
    [property: Id(2)] string? Description,
    [property: Id(3)] int Total,
    [property: Id(4)] int Completed,
    [property: Id(5)] int Passed,
    [property: Id(6)] int Failed,
    [property: Id(7)] int Errors,
    [property: Id(8)] DateTimeOffset CreatedAt,
    [property: Id(9)] DateTimeOffset UpdatedAt,
    [property: Id(10)] string? Message,
    [property: Id(11)] IReadOnlyList<MatrixAggregate> Matrix)
{
    /// <summary>Whether the run has ended (completed, failed or cancelled).</summary>
    public bool IsFinished => State is RunState.Completed or RunState.Failed or RunState.Cancelled;
}
