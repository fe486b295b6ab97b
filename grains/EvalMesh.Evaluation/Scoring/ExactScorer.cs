namespace EvalMesh.Evaluation.Scoring;

/// <summary><c>exact</c>: the normalised answer equals one of the normalised expected values.</summary>
public sealed class ExactScorer(TextNormalization normalization) : IScorer
{
    /// <inheritdoc />
    public string Name => "exact";

    /// <inheritdoc />
    public ValueTask<ScoreResult> ScoreAsync(ScoreRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var output = normalization.Apply(request.Output);
        var match = request.Expected.FirstOrDefault(e => normalization.Apply(e) == output);
        return ValueTask.FromResult(match is not null
            ? ScoreResult.Pass("the answer equals the expected value")
            : ScoreResult.Fail(output.Length == 0 ? "the answer is empty" : "the answer differs from every expected value"));
    }
}
