namespace EvalMesh.Contracts;

/// <summary>
/// The models a silo has without a file, by name: the trained tiny model and the random-weight smoke model, each with
/// two LoRA adapters (<c>adapter-1</c>, <c>adapter-2</c>).
/// </summary>
public static class BuiltInModels
{
    /// <summary>
    /// The tiny model trained on generated Slack question answering by <c>evalmesh models train-tiny</c>, shipped with
    /// EvalMesh; a llama endpoint's model when it names none.
    /// </summary>
    public const string Tiny = "tiny";

    /// <summary>The tiny model with random weights: a smoke model, for what only needs the pipeline.</summary>
    public const string TinyRandom = "tiny-random";

    /// <summary>Every built-in model's name.</summary>
    public static IReadOnlyList<string> All { get; } = [Tiny, TinyRandom];

    /// <summary>Whether <paramref name="name"/> is a built-in model's name.</summary>
    public static bool IsModel(string name) => All.Contains(name, StringComparer.Ordinal);
}
