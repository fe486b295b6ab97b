using EvalMesh.Client;
using EvalMesh.Inference.Endpoints;
using Microsoft.Extensions.AI;

namespace EvalMesh.Grains.Endpoints;

/// <summary>
/// A llama endpoint seen from anywhere in the cluster: an <see cref="IChatClient"/> that calls the endpoint's adapter
/// host through the <see cref="AdapterRouter"/> (which places it by adapter affinity and rides out a silo's death).
/// </summary>
public sealed class AdapterHostChatClient(AdapterRouter router, string hostKey) : WholeAnswerChatClient
{
    /// <inheritdoc />
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        ModelHostChat.Response(await router.InferAsync(hostKey, ModelHostChat.Request(messages, options), cancellationToken).ConfigureAwait(false));
}
