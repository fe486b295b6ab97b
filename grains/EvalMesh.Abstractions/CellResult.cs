using MessagePack;

namespace EvalMesh.Abstractions;

/// <summary>How a cell ended. An error (the endpoint failed) is never counted as a wrong answer.</summary>
public enum CellOutcome
{
    /// <summary>The scorer passed the answer.</summary>
    Passed,

    /// <summary>The scorer failed the answer.</summary>
    Failed,

    /// <summary>No answer could be obtained (endpoint error, timeout, exhausted retries).</summary>
    Error,
}

/// <summary>The result of one cell (case × format × endpoint × repeat), as stored in the result store.</summary>
/// <param name="CellId">Unique within the run; results are idempotent by it.</param>
/// <param name="Suite">The suite.</param>
/// <param name="CaseId">The test case.</param>
/// <param name="Format">The format the context was rendered in.</param>
/// <param name="Endpoint">The endpoint asked.</param>
/// <param name="Repeat">The repeat number, from 1.</param>
/// <param name="Tags">The case's categories.</param>
/// <param name="Outcome">Passed, failed or error.</param>
/// <param name="Score">The scorer's score in [0, 1]; 0 for errors.</param>
/// <param name="Reason">The scorer's reason, or the error.</param>
/// <param name="Output">The model's answer (empty for errors).</param>
/// <param name="Expected">The expected values.</param>
/// <param name="PromptTokens">Prompt tokens per tokenizer.</param>
/// <param name="CompletionTokens">Completion tokens, when the endpoint reports them.</param>
/// <param name="LatencyMs">Time the endpoint took, in milliseconds.</param>
/// <param name="Silo">The silo that ran the cell.</param>
/// <param name="PromptTail">The prompt after the context the run's cells of one suite and format share (see <see cref="PromptHead"/>): the question and what follows it.</param>
/// <param name="Scorer">The scorer that judged the answer (<c>exact</c>, <c>url-set</c> …).</param>
[GenerateSerializer, Immutable, Alias("evalmesh.cell-result"), MessagePackObject]
public sealed record CellResult(
    [property: Id(0), Key(0)] string CellId,
    [property: Id(1), Key(1)] string Suite,
    [property: Id(2), Key(2)] string CaseId,
    [property: Id(3), Key(3)] string Format,
    [property: Id(4), Key(4)] string Endpoint,
    [property: Id(5), Key(5)] int Repeat,
    [property: Id(6), Key(6)] IReadOnlyList<string> Tags,
    [property: Id(7), Key(7)] CellOutcome Outcome,
    [property: Id(8), Key(8)] double Score,
    [property: Id(9), Key(9)] string Reason,
    [property: Id(10), Key(10)] string Output,
    [property: Id(11), Key(11)] IReadOnlyList<string> Expected,
    [property: Id(12), Key(12)] IReadOnlyDictionary<string, int> PromptTokens,
    [property: Id(13), Key(13)] int? CompletionTokens,
    [property: Id(14), Key(14)] double LatencyMs,
    [property: Id(15), Key(15)] string? Silo,
    [property: Id(16), Key(16)] string PromptTail,
    [property: Id(17), Key(17)] string Scorer);
