using System.Text;
using EvalMesh.Inference.Llama;
using EvalMesh.Training.Model;
using LLama;
using LLama.Common;
using LLama.Native;
using Microsoft.Extensions.Logging.Abstractions;

namespace EvalMesh.Training.Data;

/// <summary>
/// The base model's own tokenizer, through llama.cpp (the vocabulary alone is loaded), so that training sees exactly
/// the tokens inference will: the prompt tokenized as inference tokenizes it (with BOS when the model adds one, special
/// tokens as plain text), then the answer, then end-of-sequence.
/// </summary>
internal sealed class ModelVocabulary : IDisposable
{
    private readonly LLamaWeights _weights;

    private ModelVocabulary(LLamaWeights weights) => _weights = weights;

    /// <summary>The end-of-sequence token appended after every answer.</summary>
    public int EndOfSequence => (int)(_weights.Vocab.EOS ?? throw new InvalidOperationException("the model has no end-of-sequence token"));

    /// <exception cref="TrainingException">llama.cpp cannot load the model's vocabulary.</exception>
    public static ModelVocabulary Load(string modelPath)
    {
        LlamaRuntime.EnsureConfigured(NullLogger.Instance);
        try
        {
            return new ModelVocabulary(LLamaWeights.LoadFromFile(new ModelParams(modelPath) { VocabOnly = true, GpuLayerCount = 0 }));
        }
        catch (Exception ex) when (ex is LLama.Exceptions.RuntimeError or InvalidOperationException)
        {
            throw new TrainingException(modelPath, TrainingProblem.BaseModelUnreadable, $"llama.cpp could not load its vocabulary: {ex.Message}", innerException: ex);
        }
    }

    /// <summary>Tokens of <paramref name="text"/>; with BOS first when <paramref name="addBos"/> and the model adds one.</summary>
    public int[] Tokenize(string text, bool addBos) =>
        [.. _weights.NativeHandle.Tokenize(text, addBos, special: false, Encoding.UTF8).Select(t => (int)t)];

    /// <summary>An example as tokens: prompt (as inference tokenizes it), answer, EOS.</summary>
    public TokenSequence Sequence(string prompt, string answer)
    {
        var promptTokens = Tokenize(prompt, addBos: true);
        var answerTokens = Tokenize(answer, addBos: false);
        return new TokenSequence([.. promptTokens, .. answerTokens, EndOfSequence], promptTokens.Length);
    }

    public void Dispose() => _weights.Dispose();
}
