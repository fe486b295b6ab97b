namespace EvalMesh.Inference.Llama;

/// <summary>
/// The files that serve a completion: a base model and, optionally, a LoRA adapter for it. Paths are made full once,
/// here, so that this is the one key of the model host's contexts, its adapter cache and their counts.
/// </summary>
public sealed record ModelFiles
{
    /// <summary>The files for a base model alone, or with an adapter.</summary>
    public ModelFiles(string model, string? adapter = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        Model = Path.GetFullPath(model);
        Adapter = adapter is null ? null : Path.GetFullPath(adapter);
        Key = $"{Model}|{Adapter}";
    }

    /// <summary>The base model GGUF file.</summary>
    public string Model { get; }

    /// <summary>The LoRA adapter GGUF file, or null for the base alone.</summary>
    public string? Adapter { get; }

    /// <summary><c>model|adapter</c>, for counts kept by name (<see cref="AdapterFrequency"/>).</summary>
    public string Key { get; }

    /// <summary>The base model alone.</summary>
    public ModelFiles Base => Adapter is null ? this : new(Model);
}
