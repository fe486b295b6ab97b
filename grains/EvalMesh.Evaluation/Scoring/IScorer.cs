namespace EvalMesh.Evaluation.Scoring;

/// <summary>What a scorer judges: the question, the model's answer and the expected answer(s).</summary>
/// <param name="Question">The question that was asked.</param>
/// <param name="Output">The model's answer; may be empty or garbled.</param>
/// <param name="Expected">
/// The expected values. Most scorers pass when the output matches any of them; <c>url-set</c> treats them as the
/// set of URLs the answer must contain; <c>json-equals</c> reads the first as JSON.
/// </param>
public sealed record ScoreRequest(string Question, string Output, IReadOnlyList<string> Expected);

/// <summary>A scorer's verdict.</summary>
/// <param name="Score">A value in [0, 1].</param>
/// <param name="Passed">Whether the answer counts as correct.</param>
/// <param name="Reason">Why, in a sentence a person can read.</param>
public sealed record ScoreResult(double Score, bool Passed, string Reason)
{
    internal static ScoreResult Pass(string reason) => new(1, true, reason);

    internal static ScoreResult Fail(string reason) => new(0, false, reason);
}

/// <summary>
/// Judges one answer. An empty or garbled answer is a failed score, never an exception; exceptions mean the scorer
/// itself could not run (for example an unreachable judge model).
/// </summary>
public interface IScorer
{
    /// <summary>The scorer's type name, such as <c>exact</c>.</summary>
    string Name { get; }

    /// <summary>Scores one answer.</summary>
    ValueTask<ScoreResult> ScoreAsync(ScoreRequest request, CancellationToken cancellationToken = default);
}
