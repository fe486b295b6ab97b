namespace EvalMesh.Inference.Hosting;

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
public sealed record GenerationOptions(int MaxTokens = 32, float Temperature = 0, int Seed = 0, IReadOnlyList<string>? Stop = null, float TopP = 1, int? TopLogprobs = null)
{
    /// <summary>The most alternatives <see cref="TopLogprobs"/> may ask for, as OpenAI allows.</summary>
    public const int MaxTopLogprobs = 20;

    /// <summary>Greedy decoding of up to 32 tokens.</summary>
    public static GenerationOptions Greedy { get; } = new();
}

/// <summary>A token as text and bytes (a token can end inside a character), with its log probability.</summary>
/// <param name="Token">Its text (a partial character shows as U+FFFD).</param>
/// <param name="Bytes">Its UTF-8 bytes.</param>
/// <param name="Logprob">Its log probability at its step.</param>
/// <param name="Alternatives">For a generated token: the likeliest tokens at its step, likeliest first; else empty.</param>
public sealed record TokenChoice(string Token, byte[] Bytes, float Logprob, IReadOnlyList<TokenChoice> Alternatives);

/// <summary>One completion request to the model host.</summary>
/// <param name="Model">The base model GGUF file.</param>
/// <param name="Adapter">A LoRA adapter GGUF file for that base, or null for the base alone.</param>
/// <param name="Prompt">The prompt text.</param>
/// <param name="Options">How to generate.</param>
/// <param name="PrefixLength">
/// How many leading characters of the prompt are a context shared with other requests (an eval's rendered dataset).
/// The host decodes that prefix once per base and adapter and reuses its KV cache; 0 means no shared prefix.
/// </param>
public sealed record InferenceRequest(string Model, string? Adapter, string Prompt, GenerationOptions Options, int PrefixLength = 0);

/// <summary>What a completion produced.</summary>
/// <param name="Text">The generated text.</param>
/// <param name="PromptTokens">Prompt tokens in the model's own vocabulary.</param>
/// <param name="CompletionTokens">Generated tokens.</param>
/// <param name="FinishReason"><c>stop</c> (end of sequence or a stop sequence) or <c>length</c>.</param>
/// <param name="AdapterWasResident">Whether the adapter was already loaded when the request ran.</param>
/// <param name="PrefixReused">Whether the shared prefix's KV cache was reused rather than decoded.</param>
/// <param name="BatchSize">How many sequences shared the decode batch when this one started generating.</param>
/// <param name="Tokens">The generated token ids.</param>
/// <param name="Margins">At each generated token, the gap between the best and second-best logit.</param>
/// <param name="Logprobs">When asked for: the log probabilities of the tokens that make up <paramref name="Text"/>.</param>
public sealed record InferenceResult(
    string Text,
    int PromptTokens,
    int CompletionTokens,
    string FinishReason,
    bool AdapterWasResident,
    bool PrefixReused,
    int BatchSize,
    IReadOnlyList<int> Tokens,
    IReadOnlyList<float> Margins,
    IReadOnlyList<TokenChoice>? Logprobs = null);

/// <summary>A piece of a streamed completion (see <see cref="ModelHost.StreamAsync"/>).</summary>
/// <param name="Text">New text (empty on the last update).</param>
/// <param name="Result">On the last update only: the whole completion.</param>
/// <param name="Logprobs">When asked for: the log probabilities of the tokens whose text starts in this piece.</param>
/// <param name="AdapterWasResident">On the first piece of text only: whether the adapter was already loaded.</param>
public sealed record InferenceUpdate(string Text, InferenceResult? Result, IReadOnlyList<TokenChoice>? Logprobs = null, bool? AdapterWasResident = null);

/// <summary>What a model host has done since it started.</summary>
/// <param name="PromptTokensDecoded">Prompt tokens decoded; a reused prefix counts once.</param>
/// <param name="TokensGenerated">Tokens sampled.</param>
/// <param name="DecodeCalls">llama.cpp decode calls.</param>
public sealed record InferenceStats(long PromptTokensDecoded, long TokensGenerated, long DecodeCalls);
