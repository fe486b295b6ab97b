namespace EvalMesh.Abstractions;

/// <summary>A completion call to an <see cref="IAdapterHostGrain"/>.</summary>
/// <param name="Prompt">The prompt.</param>
/// <param name="PrefixLength">Leading characters of the prompt shared with other calls (decoded once, then reused).</param>
/// <param name="MaxTokens">The most tokens to generate.</param>
/// <param name="Temperature">0 is greedy.</param>
/// <param name="Seed">Sampling seed.</param>
/// <param name="Stop">Stop sequences.</param>
/// <param name="TopP">Nucleus sampling: below 1, only the likeliest tokens whose probabilities add up to it.</param>
/// <param name="TopLogprobs">Null: no log probabilities; else each generated token's, with this many likeliest alternatives (0–20).</param>
[GenerateSerializer, Immutable, Alias("evalmesh.inference-call")]
public sealed record InferenceCall(
    [property: Id(0)] string Prompt,
    [property: Id(1)] int PrefixLength,
    [property: Id(2)] int MaxTokens,
    [property: Id(3)] float Temperature,
    [property: Id(4)] int Seed,
    [property: Id(5)] IReadOnlyList<string>? Stop,
    [property: Id(6)] float TopP = 1,
    [property: Id(7)] int? TopLogprobs = null);

/// <summary>A token with its log probability (see <see cref="InferenceCall.TopLogprobs"/>).</summary>
/// <param name="Token">Its text (a partial character shows as U+FFFD).</param>
/// <param name="Bytes">Its UTF-8 bytes.</param>
/// <param name="Logprob">Its log probability under the model at its step.</param>
/// <param name="Top">For a generated token: the likeliest tokens at its step, likeliest first; else empty.</param>
[GenerateSerializer, Immutable, Alias("evalmesh.token-logprob")]
public sealed record TokenLogprob(
    [property: Id(0)] string Token,
    [property: Id(1)] byte[] Bytes,
    [property: Id(2)] float Logprob,
    [property: Id(3)] IReadOnlyList<TokenLogprob> Top);

/// <summary>What an <see cref="IAdapterHostGrain"/> answered, and where.</summary>
/// <param name="Text">The completion.</param>
/// <param name="PromptTokens">Prompt tokens in the model's vocabulary.</param>
/// <param name="CompletionTokens">Generated tokens.</param>
/// <param name="FinishReason"><c>stop</c> or <c>length</c>.</param>
/// <param name="Silo">The silo that served it.</param>
/// <param name="AdapterWasResident">Whether the adapter was already loaded there.</param>
/// <param name="PrefixReused">Whether a cached prompt prefix was reused.</param>
/// <param name="Logprobs">When asked for: the log probabilities of the tokens that make up <paramref name="Text"/>.</param>
[GenerateSerializer, Immutable, Alias("evalmesh.inference-reply")]
public sealed record InferenceReply(
    [property: Id(0)] string Text,
    [property: Id(1)] int PromptTokens,
    [property: Id(2)] int CompletionTokens,
    [property: Id(3)] string FinishReason,
    [property: Id(4)] string Silo,
    [property: Id(5)] bool AdapterWasResident,
    [property: Id(6)] bool PrefixReused,
    [property: Id(7)] IReadOnlyList<TokenLogprob>? Logprobs = null);

/// <summary>A piece of a streamed completion: text as it is generated, then a last chunk with the whole reply.</summary>
/// <param name="Text">New text (empty on the last chunk).</param>
/// <param name="Reply">On the last chunk only: the whole completion, its usage and where it ran.</param>
/// <param name="Logprobs">When asked for: the log probabilities of the tokens whose text starts in this chunk.</param>
/// <param name="Route">On the first chunk of text only: where it runs (the last chunk's reply says it too).</param>
[GenerateSerializer, Immutable, Alias("evalmesh.inference-chunk")]
public sealed record InferenceChunk(
    [property: Id(0)] string Text,
    [property: Id(1)] InferenceReply? Reply,
    [property: Id(2)] IReadOnlyList<TokenLogprob>? Logprobs = null,
    [property: Id(3)] InferenceRoute? Route = null);

/// <summary>Where a completion runs.</summary>
/// <param name="Silo">The silo that serves it.</param>
/// <param name="AdapterWasResident">Whether the adapter was already loaded there.</param>
[GenerateSerializer, Immutable, Alias("evalmesh.inference-route")]
public sealed record InferenceRoute(
    [property: Id(0)] string Silo,
    [property: Id(1)] bool AdapterWasResident);

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
