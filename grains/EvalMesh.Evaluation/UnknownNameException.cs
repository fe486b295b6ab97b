namespace EvalMesh.Evaluation;

/// <summary>A name (format, tokenizer, scorer, endpoint ...) that is not one of the known ones.</summary>
public sealed class UnknownNameException(string kind, string name, IReadOnlyList<string> known)
    : Exception($"unknown {kind} '{EvalMeshInputException.Shown(name)}'{Suggest(name, known)}; known {Plural(kind)}: {string.Join(", ", known)}")
{
    /// <summary>What kind of name it is, such as "format".</summary>
    public string Kind { get; } = kind;

    /// <summary>The name that was asked for.</summary>
    public string Name { get; } = name;

    /// <summary>The names that exist.</summary>
    public IReadOnlyList<string> Known { get; } = known;

    private static string Plural(string kind) => kind.EndsWith('y') ? $"{kind[..^1]}ies" : $"{kind}s";

    private static string Suggest(string name, IReadOnlyList<string> known)
    {
        var closest = Closest.Of(name, known);
        return closest is null ? string.Empty : $" (did you mean '{closest}'?)";
    }
}
