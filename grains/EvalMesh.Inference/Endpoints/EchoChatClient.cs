using Microsoft.Extensions.AI;

namespace EvalMesh.Inference.Endpoints;

/// <summary>
/// <c>echo</c>: answers with the prompt itself, like promptfoo's echo provider. It measures the pipeline around the
/// model (rendering, scoring, storage, fan-out) without a model's cost.
/// </summary>
public sealed class EchoChatClient(string name = "echo") : WholeAnswerChatClient
{
    /// <inheritdoc />
    public override Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        cancellationToken.ThrowIfCancellationRequested();
        var text = ChatPrompt.Render(messages);
        return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, text)) { ModelId = name, FinishReason = ChatFinishReason.Stop });
    }
}
