using EvalMesh.Contracts;

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

/// <summary>A message of a conversation.</summary>
/// <param name="Role"><c>system</c>, <c>user</c>, <c>assistant</c> or another role the model's template knows.</param>
/// <param name="Content">Its text.</param>
[GenerateSerializer, Immutable, Alias("evalmesh.chat-turn")]
public sealed record ChatTurn(
    [property: Id(0)] string Role,
    [property: Id(1)] string Content);

/// <summary>
/// One completion for a local model: what callers send to an <see cref="IAdapterHostGrain"/> and what the silo's model
/// host runs. Which base model and adapter serve it is the grain's key (or, on the host, its files). The host renders
/// the messages into the model's prompt with <paramref name="ChatTemplate"/>.
/// </summary>
/// <param name="Messages">The conversation; the model answers the last message.</param>
/// <param name="Options">How to generate.</param>
/// <param name="SharedPrefix">
/// How many leading characters of the last message are a context shared with other requests (an eval's rendered
/// dataset). The host decodes the prompt up to there once per base and adapter and reuses its KV cache; 0 means none
/// declared (the host still reuses what the prompt has in common with the last one).
/// </param>
/// <param name="ChatTemplate">One of <see cref="ChatTemplates.Names"/>.</param>
[GenerateSerializer, Immutable, Alias("evalmesh.inference-request")]
public sealed record InferenceRequest(
    [property: Id(0)] IReadOnlyList<ChatTurn> Messages,
    [property: Id(1)] GenerationOptions Options,
    [property: Id(2)] int SharedPrefix = 0,
    [property: Id(3)] string ChatTemplate = ChatTemplates.Auto)
{
    /// <summary>A plain-text completion: <paramref name="prompt"/> is the model's prompt as it is (no template).</summary>
    public InferenceRequest(string prompt, GenerationOptions options, int sharedPrefix = 0)
        : this([new ChatTurn("user", prompt)], options, sharedPrefix, ChatTemplates.None)
    {
    }
}
