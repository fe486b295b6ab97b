namespace EvalMesh.Training.Model;

/// <summary>
/// One training example as tokens: the prompt (from BOS), then the answer and end-of-sequence. The model reads every
/// token but the last; the loss is on predicting tokens [<see cref="AnswerStart"/>, end), the answer and EOS.
/// </summary>
/// <param name="Tokens">Prompt tokens, answer tokens, EOS.</param>
/// <param name="AnswerStart">The index of the first answer token (at least 1).</param>
internal sealed record TokenSequence(int[] Tokens, int AnswerStart)
{
    /// <summary>Tokens the model reads: all but the last.</summary>
    public int InputLength => Tokens.Length - 1;

    /// <summary>Tokens that are scored: the answer and EOS.</summary>
    public int ScoredTokens => Tokens.Length - AnswerStart;

    /// <summary>The first input position whose prediction is scored.</summary>
    public int FirstScoredPosition => AnswerStart - 1;

    /// <summary>The tokens predicted at the scored positions.</summary>
    public ReadOnlySpan<int> Targets => Tokens.AsSpan(AnswerStart);

    /// <summary>The tokens the model reads.</summary>
    public ReadOnlySpan<int> Inputs => Tokens.AsSpan(0, InputLength);
}
