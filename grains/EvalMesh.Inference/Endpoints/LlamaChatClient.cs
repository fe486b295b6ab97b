using System.Runtime.CompilerServices;
using EvalMesh.Inference.Hosting;
using Microsoft.Extensions.AI;

namespace EvalMesh.Inference.Endpoints;

/// <summary>
/// <c>llama</c>: a local GGUF model, optionally with a LoRA adapter, served by this process's <see cref="ModelHost"/>.
/// An eval passes the length of the prompt's shared context as <see cref="WholeAnswerChatClient.PrefixLengthKey"/> so
/// that the host decodes it once and reuses its KV cache.
/// </summary>
public sealed class LlamaChatClient(ModelHost host, string model, string? adapter) : WholeAnswerChatClient
{
    /// <summary>The host's request for these messages and options.</summary>
    public InferenceRequest ToRequest(IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        var (prefix, generation) = HostSettings(options);
        return new InferenceRequest(model, adapter, ChatPrompt.Render(messages), generation, prefix);
    }

    /// <inheritdoc />
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        Response(await host.InferAsync(ToRequest(messages, options), cancellationToken).ConfigureAwait(false), withText: true);

    /// <summary>The completion's text as the model host generates it, then its usage, finish reason and residency.</summary>
    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var update in host.StreamAsync(ToRequest(messages, options), cancellationToken).ConfigureAwait(false))
        {
            if (update.Result is { } result)
            {
                foreach (var last in Response(result, withText: false).ToChatResponseUpdates())
                {
                    yield return last;
                }
            }
            else
            {
                yield return new ChatResponseUpdate(ChatRole.Assistant, update.Text) { ModelId = ModelId };
            }
        }
    }

    private string ModelId => adapter is null ? Path.GetFileNameWithoutExtension(model) : $"{Path.GetFileNameWithoutExtension(model)}:{Path.GetFileNameWithoutExtension(adapter)}";

    private ChatResponse Response(InferenceResult result, bool withText)
    {
        var response = HostResponse(withText ? result.Text : string.Empty, result.FinishReason, result.PromptTokens, result.CompletionTokens, result.AdapterWasResident, result.PrefixReused);
        response.ModelId = ModelId;
        return response;
    }
}
