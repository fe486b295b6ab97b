using EvalMesh.Evaluation.Tokenization;

namespace EvalMesh.Inference.Llama;

/// <summary>Counts tokens with a loaded model's own vocabulary, as that model would see the text.</summary>
internal sealed class LlamaTokenCounter(string name, LoadedModel model) : ITokenCounter
{
    public string Name => name;

    public int CountTokens(string text) => model.Tokenizer.Tokenize(text, addBos: false, special: false).Length;
}
