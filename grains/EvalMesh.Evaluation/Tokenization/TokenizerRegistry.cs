using System.Collections.Concurrent;

namespace EvalMesh.Evaluation.Tokenization;

/// <summary>
/// The tokenizers a process knows: the built-in OpenAI vocabularies, shared by every registry, plus any registered
/// at run time (such as a local GGUF model's own vocabulary).
/// </summary>
public sealed class TokenizerRegistry
{
    /// <summary>The name of the gpt-4o / gpt-5 family vocabulary.</summary>
    public const string O200kBase = "o200k_base";

    /// <summary>The name of the gpt-4 / gpt-3.5 vocabulary.</summary>
    public const string Cl100kBase = "cl100k_base";

    private static readonly ITokenCounter[] BuiltIn = [new TiktokenCounter(O200kBase), new TiktokenCounter(Cl100kBase)];

    private readonly ConcurrentDictionary<string, ITokenCounter> _counters =
        new(BuiltIn.ToDictionary(c => c.Name, StringComparer.OrdinalIgnoreCase), StringComparer.OrdinalIgnoreCase);

    /// <summary>A registry shared by code that has no dependency injection (the CLI's offline verbs, benchmarks).</summary>
    public static TokenizerRegistry Shared { get; } = new();

    /// <summary>The built-in tokenizer names.</summary>
    public static IReadOnlyList<string> BuiltInNames { get; } = [O200kBase, Cl100kBase];

    /// <summary>Every known name: built-in first, then registered ones in name order.</summary>
    public IReadOnlyList<string> Names =>
        [.. BuiltInNames, .. _counters.Keys.Except(BuiltInNames, StringComparer.OrdinalIgnoreCase).Order(StringComparer.Ordinal)];

    /// <summary>Adds or replaces a tokenizer, such as a local model's vocabulary.</summary>
    public void Register(ITokenCounter counter)
    {
        ArgumentNullException.ThrowIfNull(counter);
        _counters[counter.Name] = counter;
    }

    /// <summary>The tokenizer with this name.</summary>
    /// <exception cref="UnknownNameException">No tokenizer has this name.</exception>
    public ITokenCounter Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _counters.TryGetValue(name.Trim(), out var counter) ? counter : throw new UnknownNameException("tokenizer", name, Names);
    }
}
