namespace EvalMesh.Abstractions;

/// <summary>A token as text and bytes (a token can end inside a character), with its log probability.</summary>
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

/// <summary>What a completion produced, and where.</summary>
/// <param name="Text">The generated text.</param>
/// <param name="PromptTokens">Prompt tokens in the model's own vocabulary.</param>
/// <param name="CompletionTokens">Generated tokens.</param>
/// <param name="FinishReason"><c>stop</c> (end of sequence or a stop sequence) or <c>length</c>.</param>
/// <param name="Route">Where it ran, and whether its adapter was already loaded there.</param>
/// <param name="CachedTokens">Prompt tokens whose KV cache was reused from an earlier request rather than decoded (OpenAI's <c>cached_tokens</c>).</param>
/// <param name="BatchSize">How many sequences shared the decode batch when this one started generating.</param>
/// <param name="Tokens">The generated token ids.</param>
/// <param name="Margins">At each generated token, the gap between the best and second-best logit (how near a tie the choice was).</param>
/// <param name="Logprobs">When asked for: the log probabilities of the tokens that make up <paramref name="Text"/>.</param>
[GenerateSerializer, Immutable, Alias("evalmesh.inference-reply")]
public sealed record InferenceReply(
    [property: Id(0)] string Text,
    [property: Id(1)] int PromptTokens,
    [property: Id(2)] int CompletionTokens,
    [property: Id(3)] string FinishReason,
    [property: Id(4)] InferenceRoute Route,
    [property: Id(5)] int CachedTokens,
    [property: Id(6)] int BatchSize,
    [property: Id(7)] IReadOnlyList<int> Tokens,
    [property: Id(8)] IReadOnlyList<float> Margins,
    [property: Id(9)] IReadOnlyList<TokenLogprob>? Logprobs = null);

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
/// <param name="Host">The model host that serves it (in a cluster, its silo's address).</param>
/// <param name="AdapterWasResident">Whether the adapter was already loaded there (true for a base model alone).</param>
[GenerateSerializer, Immutable, Alias("evalmesh.inference-route")]
public sealed record InferenceRoute(
    [property: Id(0)] string Host,
    [property: Id(1)] bool AdapterWasResident);

/// <summary>Reading a completion's chunks.</summary>
public static class InferenceChunks
{
    /// <summary>The reply that ends a completion's chunks.</summary>
    /// <exception cref="InvalidOperationException">The chunks ended without one.</exception>
    public static async Task<InferenceReply> ReplyAsync(this IAsyncEnumerable<InferenceChunk> chunks)
    {
        ArgumentNullException.ThrowIfNull(chunks);
        await foreach (var chunk in chunks.ConfigureAwait(false))
        {
            if (chunk.Reply is { } reply)
            {
                return reply;
            }
        }

        throw new InvalidOperationException("the completion ended without a reply");
    }
}
