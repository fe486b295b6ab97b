using System.Runtime.CompilerServices;
using EvalMesh.Contracts;
using EvalMesh.Inference.Llama;
using Microsoft.Extensions.AI;

namespace EvalMesh.Inference.Endpoints;

/// <summary>
/// <c>llama</c>: a local GGUF model, optionally with a LoRA adapter, served by this process's <see cref="ModelHost"/>.
/// An eval passes the length of the prompt's shared context as <see cref="ModelHostChat.PrefixLengthKey"/> so that the
/// host decodes it once and reuses its KV cache.
/// </summary>
public sealed class LlamaChatClient(ModelHost host, ModelFiles files, string chatTemplate = ChatTemplates.Auto) : WholeAnswerChatClient
{
    /// <inheritdoc />
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        Named(ModelHostChat.Response(await host.InferAsync(files, ModelHostChat.Request(messages, options, chatTemplate), cancellationToken).ConfigureAwait(false)));

    /// <summary>The completion's text as the model host generates it, then its usage, finish reason and residency.</summary>
    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var chunk in host.StreamAsync(files, ModelHostChat.Request(messages, options, chatTemplate), cancellationToken).ConfigureAwait(false))
        {
            if (chunk.Reply is { } reply)
            {
                foreach (var last in Named(ModelHostChat.Response(reply, withText: false)).ToChatResponseUpdates())
                {
                    yield return last;
                }
            }
            else
            {
                yield return new ChatResponseUpdate(ChatRole.Assistant, chunk.Text) { ModelId = ModelId };
            }
        }
    }

    private string ModelId => files.Adapter is null ? Path.GetFileNameWithoutExtension(files.Model) : $"{Path.GetFileNameWithoutExtension(files.Model)}:{Path.GetFileNameWithoutExtension(files.Adapter)}";

    private ChatResponse Named(ChatResponse response)
    {
        response.ModelId = ModelId;
        return response;
    }
}
