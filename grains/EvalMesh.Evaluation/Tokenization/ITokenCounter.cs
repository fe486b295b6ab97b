namespace EvalMesh.Evaluation.Tokenization;

/// <summary>Counts the tokens a text costs under one vocabulary.</summary>
public interface ITokenCounter
{
    /// <summary>The tokenizer's name, such as <c>o200k_base</c> or <c>tiny-llama</c>.</summary>
    string Name { get; }

    /// <summary>The exact number of tokens in <paramref name="text"/>.</summary>
    int CountTokens(string text);
}
