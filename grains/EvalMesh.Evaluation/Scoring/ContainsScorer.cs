namespace EvalMesh.Evaluation.Scoring;

/// <summary><c>contains</c>: the normalised answer contains one of the normalised expected values.</summary>
public sealed class ContainsScorer(TextNormalization normalization) : IScorer
{
    /// <inheritdoc />
    public string Name => "contains";

    /// <inheritdoc />
    public ValueTask<ScoreResult> ScoreAsync(ScoreRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var output = normalization.Apply(request.Output);
        var match = request.Expected.FirstOrDefault(e => output.Contains(normalization.Apply(e), StringComparison.Ordinal));
        return ValueTask.FromResult(match is not null
            ? ScoreResult.Pass($"the answer contains '{match}'")
            : ScoreResult.Fail("the answer contains none of the expected values"));
    }
}
