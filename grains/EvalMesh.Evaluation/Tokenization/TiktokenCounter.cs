using Microsoft.ML.Tokenizers;

namespace EvalMesh.Evaluation.Tokenization;

/// <summary>An OpenAI BPE vocabulary (o200k_base, cl100k_base) through Microsoft.ML.Tokenizers, offline.</summary>
internal sealed class TiktokenCounter(string name) : ITokenCounter
{
    // Building a tokenizer reads and indexes its vocabulary (~0.5-1 s), so it happens once, on first use.
    private readonly Lazy<Tokenizer> _tokenizer = new(() => TiktokenTokenizer.CreateForEncoding(name));

    public string Name => name;

    public int CountTokens(string text) => _tokenizer.Value.CountTokens(text);
}
