using EvalMesh.Client;
using EvalMesh.Inference.Endpoints;
using EvalMesh.Inference.Llama;
using Microsoft.Extensions.AI;

namespace EvalMesh.Grains.Endpoints;

/// <summary>
/// A llama endpoint seen from anywhere in the cluster: an <see cref="IChatClient"/> that calls the endpoint's adapter
/// host through the <see cref="AdapterRouter"/> (which places it by adapter affinity and rides out a silo's death). A
/// model host that has too many requests waiting says when to try again; an eval's cell waits that long and asks again
/// rather than fail.
/// </summary>
public sealed class AdapterHostChatClient(AdapterRouter router, string hostKey, string chatTemplate, TimeProvider time) : WholeAnswerChatClient
{
    /// <inheritdoc />
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var request = ModelHostChat.Request(messages, options, chatTemplate);
        while (true)
        {
            try
            {
                return ModelHostChat.Response(await router.InferAsync(hostKey, request, cancellationToken).ConfigureAwait(false));
            }
            catch (InferenceException ex) when (ex.Problem == InferenceProblem.Overloaded)
            {
                await Task.Delay(ex.RetryAfter ?? TimeSpan.FromSeconds(1), time, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
