using EvalMesh.Inference.Llama;
using EvalMesh.Training.Model;

namespace EvalMesh.Training.Data;

/// <summary>
/// The base model's own tokenizer, through llama.cpp (the vocabulary alone is loaded), so that training sees exactly
/// the tokens inference will: the prompt tokenized as inference tokenizes it (with BOS when the model adds one, special
/// tokens as plain text), then the answer, then end-of-sequence.
/// </summary>
internal sealed class TrainingVocabulary : IDisposable
{
    private readonly ModelVocabulary _vocabulary;

    private TrainingVocabulary(ModelVocabulary vocabulary) => _vocabulary = vocabulary;

    /// <summary>The end-of-sequence token appended after every answer.</summary>
    public int EndOfSequence => _vocabulary.EndOfSequence ?? throw new InvalidOperationException("the model has no end-of-sequence token");

    /// <exception cref="TrainingException">llama.cpp cannot load the model's vocabulary.</exception>
    public static TrainingVocabulary Load(string modelPath)
    {
        try
        {
            return new TrainingVocabulary(ModelVocabulary.Load(modelPath));
        }
        catch (InferenceException ex)
        {
            throw new TrainingException(modelPath, TrainingProblem.BaseModelUnreadable, ex.Message[(modelPath.Length + 2)..], innerException: ex);
        }
    }

    /// <summary>Tokens of <paramref name="text"/>; with BOS first when <paramref name="addBos"/> and the model adds one.</summary>
    public int[] Tokenize(string text, bool addBos) => _vocabulary.Tokenize(text, addBos);

    /// <summary>
    /// An example as tokens: prompt (as inference tokenizes a prompt with no declared shared prefix: in one piece, BOS
    /// first), answer, EOS.
    /// </summary>
    public TokenSequence Sequence(string prompt, string answer)
    {
        var promptTokens = _vocabulary.TokenizePrompt(prompt, 0);
        var answerTokens = Tokenize(answer, addBos: false);
        return new TokenSequence([.. promptTokens, .. answerTokens, EndOfSequence], promptTokens.Length);
    }

    public void Dispose() => _vocabulary.Dispose();
}
