using EvalMesh.Abstractions;
using EvalMesh.Inference.Endpoints;
using Microsoft.Extensions.AI;

namespace EvalMesh.Grains.Inference;

/// <summary>
/// A llama endpoint seen from anywhere in the cluster: an <see cref="IChatClient"/> that calls the endpoint's adapter
/// host through the <see cref="AdapterRouter"/> (which places it by adapter affinity and rides out a silo's death).
/// </summary>
public sealed class AdapterHostChatClient(AdapterRouter router, string hostKey) : IChatClient
{
    /// <summary>ChatResponse.AdditionalProperties key: the silo that served the request.</summary>
    public const string SiloKey = "evalmesh.silo";

    /// <inheritdoc />
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var prefix = options?.AdditionalProperties?.TryGetValue(LlamaChatClient.PrefixLengthKey, out var value) == true ? Convert.ToInt32(value, System.Globalization.CultureInfo.InvariantCulture) : 0;
        var call = new InferenceCall(
            ChatPrompt.Render(messages),
            prefix,
            options?.MaxOutputTokens ?? 32,
            options?.Temperature ?? 0,
            (int)(options?.Seed ?? 0),
            options?.StopSequences is { Count: > 0 } stop ? [.. stop] : null);
        var reply = await router.InferAsync(hostKey, call, cancellationToken).ConfigureAwait(false);
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, reply.Text))
        {
            FinishReason = reply.FinishReason == "length" ? ChatFinishReason.Length : ChatFinishReason.Stop,
            Usage = new UsageDetails { InputTokenCount = reply.PromptTokens, OutputTokenCount = reply.CompletionTokens, TotalTokenCount = reply.PromptTokens + reply.CompletionTokens },
            AdditionalProperties = new AdditionalPropertiesDictionary
            {
                [SiloKey] = reply.Silo,
                [LlamaChatClient.AdapterResidentKey] = reply.AdapterWasResident,
                [LlamaChatClient.PrefixReusedKey] = reply.PrefixReused,
            },
        };
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var response = await GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        foreach (var update in response.ToChatResponseUpdates())
        {
            yield return update;
        }
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null) => serviceType?.IsInstanceOfType(this) == true ? this : null;

    /// <inheritdoc />
    public void Dispose()
    {
    }
}
