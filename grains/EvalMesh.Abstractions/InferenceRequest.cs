namespace EvalMesh.Abstractions;

/// <summary>How to generate.</summary>
/// <param name="MaxTokens">The most tokens to generate.</param>
/// <param name="Temperature">0 is greedy; above 0 samples from the softmax at this temperature.</param>
/// <param name="Seed">The sampling seed (used when <paramref name="Temperature"/> is above 0).</param>
/// <param name="Stop">Stop sequences: generation ends before the first one that appears.</param>
/// <param name="TopP">Nucleus sampling: below 1, samples only among the likeliest tokens whose probabilities add up to it.</param>
/// <param name="TopLogprobs">
/// Null: no log probabilities. Otherwise each generated token's log probability under the model (before temperature),
/// with this many of the likeliest tokens at its step (0 to <see cref="MaxTopLogprobs"/>).
/// </param>
[GenerateSerializer, Immutable, Alias("evalmesh.generation-options")]
public sealed record GenerationOptions(
    [property: Id(0)] int MaxTokens = 32,
    [property: Id(1)] float Temperature = 0,
    [property: Id(2)] int Seed = 0,
    [property: Id(3)] IReadOnlyList<string>? Stop = null,
    [property: Id(4)] float TopP = 1,
    [property: Id(5)] int? TopLogprobs = null)
{
    /// <summary>The most alternatives <see cref="TopLogprobs"/> may ask for, as OpenAI allows.</summary>
    public const int MaxTopLogprobs = 20;

    /// <summary>Greedy decoding of up to 32 tokens.</summary>
    public static GenerationOptions Greedy { get; } = new();
}

/// <summary>
/// One completion for a local model: what callers send to an <see cref="IAdapterHostGrain"/> and what the silo's model
/// host runs. Which base model and adapter serve it is the grain's key (or, on the host, its files).
/// </summary>
/// <param name="Prompt">The prompt text.</param>
/// <param name="Options">How to generate.</param>
/// <param name="PrefixLength">
/// How many leading characters of the prompt are a context shared with other requests (an eval's rendered dataset).
/// The host decodes that prefix once per base and adapter and reuses its KV cache; 0 means no shared prefix.
/// </param>
[GenerateSerializer, Immutable, Alias("evalmesh.inference-request")]
public sealed record InferenceRequest(
    [property: Id(0)] string Prompt,
    [property: Id(1)] GenerationOptions Options,
    [property: Id(2)] int PrefixLength = 0);
