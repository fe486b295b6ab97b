namespace EvalMesh.Abstractions;

/// <summary>A LoRA adapter registered with the cluster.</summary>
/// <param name="Model">The base model's name (or path).</param>
/// <param name="Name">The adapter's name, used as <c>model:name</c>.</param>
/// <param name="Path">The adapter GGUF file, readable by every silo.</param>
/// <param name="Rank">LoRA rank, from validation.</param>
/// <param name="Alpha">LoRA alpha, from validation.</param>
/// <param name="Bytes">File size.</param>
[GenerateSerializer, Immutable, Alias("evalmesh.adapter-registration")]
public sealed record AdapterRegistration(
    [property: Id(0)] string Model,
    [property: Id(1)] string Name,
    [property: Id(2)] string Path,
    [property: Id(3)] int Rank,
    [property: Id(4)] float Alpha,
    [property: Id(5)] long Bytes);
