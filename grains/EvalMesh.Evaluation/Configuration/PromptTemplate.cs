namespace EvalMesh.Evaluation.Configuration;

/// <summary>A prompt: the head every question over the same data and format shares (up to the end of the context), and the rest.</summary>
/// <param name="Head">The shared part: the template up to and including the rendered context.</param>
/// <param name="Tail">The part after the context, with the question.</param>
public sealed record Prompt(string Head, string Tail)
{
    /// <summary>The whole prompt.</summary>
    public string Text => Head + Tail;
}

/// <summary>
/// A prompt template with its format filled in, and its context when every question shares one (the whole dataset):
/// <c>{{format}}</c> and a shared <c>{{context}}</c> now, <c>{{question}}</c> (and a question's own context) per
/// question. The head is built once and shared by every prompt made from it.
/// </summary>
public sealed class PromptTemplate
{
    private readonly string _tail;

    private PromptTemplate(string head, string tail)
    {
        Head = head;
        _tail = tail;
    }

    /// <summary>The shared head.</summary>
    public string Head { get; }

    /// <summary>
    /// Fills in the format and the context; the context must come before the question (the config loader checks it).
    /// Without a context (each question has its own records), the head ends where the context starts.
    /// </summary>
    public static PromptTemplate Compile(string template, string format, string? context)
    {
        ArgumentNullException.ThrowIfNull(template);
        var at = template.IndexOf("{{context}}", StringComparison.Ordinal);
        var head = template[..at].Replace("{{format}}", format, StringComparison.Ordinal) + (context ?? string.Empty);
        var tail = template[(at + "{{context}}".Length)..].Replace("{{format}}", format, StringComparison.Ordinal);
        return new PromptTemplate(head, tail);
    }

    /// <summary>The prompt for one question; <paramref name="context"/> is its own context when the template has none.</summary>
    public Prompt For(string question, string? context = null) => new(Head, context + _tail.Replace("{{question}}", question, StringComparison.Ordinal));
}
