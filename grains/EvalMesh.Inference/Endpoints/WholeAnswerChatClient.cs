using Microsoft.Extensions.AI;

namespace EvalMesh.Inference.Endpoints;

/// <summary>
/// The base of EvalMesh's chat clients. Evals score whole answers, so a client produces the whole answer, and unless it
/// streams for real (the local model host does) streaming hands that answer out as updates.
/// </summary>
public abstract class WholeAnswerChatClient : IChatClient
{
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
}
