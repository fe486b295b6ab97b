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
/// A prompt template with its format and context filled in: <c>{{context}}</c>, <c>{{format}}</c> now, <c>{{question}}</c>
/// per question. The head is built once and shared by every prompt made from it.
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

    /// <summary>Fills in the format and the context; the context must come before the question (the config loader checks it).</summary>
    public static PromptTemplate Compile(string template, string format, string context)
    {
        ArgumentNullException.ThrowIfNull(template);
        var at = template.IndexOf("{{context}}", StringComparison.Ordinal);
        var head = template[..at].Replace("{{format}}", format, StringComparison.Ordinal) + context;
        var tail = template[(at + "{{context}}".Length)..].Replace("{{format}}", format, StringComparison.Ordinal);
        return new PromptTemplate(head, tail);
    }

    /// <summary>The prompt for one question.</summary>
    public Prompt For(string question) => new(Head, _tail.Replace("{{question}}", question, StringComparison.Ordinal));
}
