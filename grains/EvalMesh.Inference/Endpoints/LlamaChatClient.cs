using EvalMesh.Inference.Hosting;
using Microsoft.Extensions.AI;

namespace EvalMesh.Inference.Endpoints;

/// <summary>
/// <c>llama</c>: a local GGUF model, optionally with a LoRA adapter, served by this process's <see cref="ModelHost"/>.
/// An eval passes the length of the prompt's shared context as <see cref="PrefixLengthKey"/> so that the host decodes
/// it once and reuses its KV cache.
/// </summary>
public sealed class LlamaChatClient(ModelHost host, string model, string? adapter) : IChatClient
{
    /// <summary>ChatOptions.AdditionalProperties key: characters of the prompt that are a context shared with other requests.</summary>
    public const string PrefixLengthKey = "evalmesh.prefix_length";

    /// <summary>ChatResponse.AdditionalProperties key: whether the adapter was already loaded.</summary>
    public const string AdapterResidentKey = "evalmesh.adapter_resident";

    /// <summary>ChatResponse.AdditionalProperties key: whether the shared prefix's KV cache was reused.</summary>
    public const string PrefixReusedKey = "evalmesh.prefix_reused";

    /// <summary>The host's request for these messages and options.</summary>
    public InferenceRequest ToRequest(IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        var prefix = options?.AdditionalProperties?.TryGetValue(PrefixLengthKey, out var value) == true ? Convert.ToInt32(value, System.Globalization.CultureInfo.InvariantCulture) : 0;
        var generation = new GenerationOptions(
            options?.MaxOutputTokens ?? 32,
            options?.Temperature ?? 0,
            (int)(options?.Seed ?? 0),
            options?.StopSequences is { Count: > 0 } stops ? [.. stops] : null);
        return new InferenceRequest(model, adapter, ChatPrompt.Render(messages), generation, prefix);
    }

    /// <inheritdoc />
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var result = await host.InferAsync(ToRequest(messages, options), cancellationToken).ConfigureAwait(false);
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, result.Text))
        {
            ModelId = adapter is null ? Path.GetFileNameWithoutExtension(model) : $"{Path.GetFileNameWithoutExtension(model)}:{Path.GetFileNameWithoutExtension(adapter)}",
            FinishReason = result.FinishReason == "length" ? ChatFinishReason.Length : ChatFinishReason.Stop,
            Usage = new UsageDetails { InputTokenCount = result.PromptTokens, OutputTokenCount = result.CompletionTokens, TotalTokenCount = result.PromptTokens + result.CompletionTokens },
            AdditionalProperties = new AdditionalPropertiesDictionary
            {
                [AdapterResidentKey] = result.AdapterWasResident,
                [PrefixReusedKey] = result.PrefixReused,
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
