using System.Globalization;
using EvalMesh.Abstractions;
using EvalMesh.Contracts;
using Microsoft.Extensions.AI;

namespace EvalMesh.Inference.Endpoints;

/// <summary>
/// How chat clients of the model host, local (<see cref="LlamaChatClient"/>) or through the cluster, turn chat messages
/// and options into an <see cref="InferenceRequest"/> and its <see cref="InferenceReply"/> into a chat response.
/// </summary>
public static class ModelHostChat
{
    /// <summary>ChatOptions.AdditionalProperties key: characters of the prompt that are a context shared with other requests.</summary>
    public const string PrefixLengthKey = "evalmesh.prefix_length";

    /// <summary>ChatResponse.AdditionalProperties key: the model host that served the request (a silo's address in a cluster).</summary>
    public const string HostKey = "evalmesh.host";

    /// <summary>ChatResponse.AdditionalProperties key: whether the adapter was already loaded.</summary>
    public const string AdapterResidentKey = "evalmesh.adapter_resident";

    /// <summary>ChatResponse.AdditionalProperties key: prompt tokens whose KV cache was reused rather than decoded.</summary>
    public const string CachedTokensKey = "evalmesh.cached_tokens";

    /// <summary>
    /// The request for these messages and options: the messages, the length of the last one's shared prefix, how to
    /// generate, and the chat template the host renders them with.
    /// </summary>
    public static InferenceRequest Request(IEnumerable<ChatMessage> messages, ChatOptions? options, string chatTemplate = ChatTemplates.Auto)
    {
        var prefix = options?.AdditionalProperties?.TryGetValue(PrefixLengthKey, out var value) == true ? Convert.ToInt32(value, CultureInfo.InvariantCulture) : 0;
        var generation = new GenerationOptions(
            options?.MaxOutputTokens ?? GenerationOptions.Greedy.MaxTokens,
            options?.Temperature ?? 0,
            (int)(options?.Seed ?? 0),
            options?.StopSequences is { Count: > 0 } stops ? [.. stops] : null,
            options?.TopP ?? 1);
        return new InferenceRequest(ChatPrompt.Turns(messages), generation, prefix, chatTemplate);
    }

    /// <summary>A reply as a chat response, with its usage, where it ran, residency and prefix reuse; without its text for a stream's last update.</summary>
    public static ChatResponse Response(InferenceReply reply, bool withText = true)
    {
        ArgumentNullException.ThrowIfNull(reply);
        return new(new ChatMessage(ChatRole.Assistant, withText ? reply.Text : string.Empty))
        {
            FinishReason = reply.FinishReason == "length" ? ChatFinishReason.Length : ChatFinishReason.Stop,
            Usage = new UsageDetails { InputTokenCount = reply.PromptTokens, OutputTokenCount = reply.CompletionTokens, TotalTokenCount = reply.PromptTokens + reply.CompletionTokens, CachedInputTokenCount = reply.CachedTokens },
            AdditionalProperties = new AdditionalPropertiesDictionary
            {
                [HostKey] = reply.Route.Host,
                [AdapterResidentKey] = reply.Route.AdapterWasResident,
                [CachedTokensKey] = reply.CachedTokens,
            },
        };
    }
}
