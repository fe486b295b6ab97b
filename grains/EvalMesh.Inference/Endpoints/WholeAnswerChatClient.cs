using System.Globalization;
using EvalMesh.Inference.Hosting;
using Microsoft.Extensions.AI;

namespace EvalMesh.Inference.Endpoints;

/// <summary>
/// The base of EvalMesh's chat clients. Evals score whole answers, so a client produces the whole answer, and unless it
/// streams for real (the local model host does) streaming hands that answer out as updates. Clients of the model host,
/// local or through the cluster, read generation settings from chat options and describe a completion the same way.
/// </summary>
public abstract class WholeAnswerChatClient : IChatClient
{
    /// <summary>ChatOptions.AdditionalProperties key: characters of the prompt that are a context shared with other requests.</summary>
    public const string PrefixLengthKey = "evalmesh.prefix_length";

    /// <summary>ChatResponse.AdditionalProperties key: whether the adapter was already loaded.</summary>
    public const string AdapterResidentKey = "evalmesh.adapter_resident";

    /// <summary>ChatResponse.AdditionalProperties key: whether the shared prefix's KV cache was reused.</summary>
    public const string PrefixReusedKey = "evalmesh.prefix_reused";

    /// <inheritdoc />
    public abstract Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default);

    /// <inheritdoc />
    public virtual async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
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
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases what the client holds; none of EvalMesh's clients hold anything.</summary>
    protected virtual void Dispose(bool disposing)
    {
    }

    /// <summary>The model host's settings for these options: the shared prefix's length and how to generate.</summary>
    protected static (int PrefixLength, GenerationOptions Generation) HostSettings(ChatOptions? options)
    {
        var prefix = options?.AdditionalProperties?.TryGetValue(PrefixLengthKey, out var value) == true ? Convert.ToInt32(value, CultureInfo.InvariantCulture) : 0;
        var generation = new GenerationOptions(
            options?.MaxOutputTokens ?? GenerationOptions.Greedy.MaxTokens,
            options?.Temperature ?? 0,
            (int)(options?.Seed ?? 0),
            options?.StopSequences is { Count: > 0 } stops ? [.. stops] : null,
            options?.TopP ?? 1);
        return (prefix, generation);
    }

    /// <summary>A model host's completion as a chat response, with its usage, residency and prefix reuse.</summary>
    protected static ChatResponse HostResponse(string text, string finishReason, int promptTokens, int completionTokens, bool adapterWasResident, bool prefixReused) =>
        new(new ChatMessage(ChatRole.Assistant, text))
        {
            FinishReason = finishReason == "length" ? ChatFinishReason.Length : ChatFinishReason.Stop,
            Usage = new UsageDetails { InputTokenCount = promptTokens, OutputTokenCount = completionTokens, TotalTokenCount = promptTokens + completionTokens },
            AdditionalProperties = new AdditionalPropertiesDictionary
            {
                [AdapterResidentKey] = adapterWasResident,
                [PrefixReusedKey] = prefixReused,
            },
        };
}
