namespace EvalMesh.Evaluation.Tokenization;

/// <summary>Counts the tokens a text costs under one vocabulary.</summary>
public interface ITokenCounter
{
    /// <summary>The tokenizer's name, such as <c>o200k_base</c> or <c>tiny-llama</c>.</summary>
    string Name { get; }

    /// <summary>The exact number of tokens in <paramref name="text"/>.</summary>
    int CountTokens(string text);

    /// <summary>
    /// The exact number of tokens in <paramref name="prefix"/> followed by <paramref name="suffix"/>: always
    /// <c>CountTokens(prefix + suffix)</c>.
    /// </summary>
    /// <remarks>
    /// For prompts that share a long head and differ in a short tail. The default concatenates; an implementation may
    /// remember what a recently seen prefix costs so that counting costs about the suffix's length.
    /// </remarks>
    /// <param name="prefix">The shared head, such as a prompt template with a rendered dataset.</param>
    /// <param name="suffix">The text that follows it, such as a question.</param>
    int CountTokens(string prefix, string suffix) => CountTokens(prefix + suffix);
}
