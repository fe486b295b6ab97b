using EvalMesh.Abstractions;
using EvalMesh.Client;
using EvalMesh.Inference.Endpoints;
using Microsoft.Extensions.AI;

namespace EvalMesh.Grains.Inference;

/// <summary>
/// A llama endpoint seen from anywhere in the cluster: an <see cref="IChatClient"/> that calls the endpoint's adapter
/// host through the <see cref="AdapterRouter"/> (which places it by adapter affinity and rides out a silo's death).
/// </summary>
public sealed class AdapterHostChatClient(AdapterRouter router, string hostKey) : WholeAnswerChatClient
{
    /// <summary>ChatResponse.AdditionalProperties key: the silo that served the request.</summary>
    public const string SiloKey = "evalmesh.silo";

    /// <inheritdoc />
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var (prefix, generation) = HostSettings(options);
        var call = new InferenceCall(ChatPrompt.Render(messages), prefix, generation.MaxTokens, generation.Temperature, generation.Seed, generation.Stop, generation.TopP);
        var reply = await router.InferAsync(hostKey, call, cancellationToken).ConfigureAwait(false);
        var response = HostResponse(reply.Text, reply.FinishReason, reply.PromptTokens, reply.CompletionTokens, reply.AdapterWasResident, reply.PrefixReused);
        response.AdditionalProperties![SiloKey] = reply.Silo;
        return response;
    }
}
