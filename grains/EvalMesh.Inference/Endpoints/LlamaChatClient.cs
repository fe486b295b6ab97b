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
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var result = await host.InferAsync(ToRequest(messages, options), cancellationToken).ConfigureAwait(false);
        var response = HostResponse(result.Text, result.FinishReason, result.PromptTokens, result.CompletionTokens, result.AdapterWasResident, result.PrefixReused);
        response.ModelId = adapter is null ? Path.GetFileNameWithoutExtension(model) : $"{Path.GetFileNameWithoutExtension(model)}:{Path.GetFileNameWithoutExtension(adapter)}";
        return response;
    }
}
