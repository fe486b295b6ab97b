using EvalMesh.Abstractions;
using EvalMesh.Inference.Endpoints;
using Microsoft.Extensions.AI;

namespace EvalMesh.Grains.Inference;

/// <summary>
/// A llama endpoint seen from anywhere in the cluster: an <see cref="IChatClient"/> that calls the endpoint's
/// <see cref="IAdapterHostGrain"/>. Calls that fail because a silo is going away are retried until the grain has
/// been reactivated elsewhere, so a silo's death does not turn in-flight cells into errors.
/// </summary>
public sealed class AdapterHostChatClient(IAdapterHostGrain grain, TimeProvider time) : IChatClient
{
    /// <summary>ChatResponse.AdditionalProperties key: the silo that served the request.</summary>
    public const string SiloKey = "evalmesh.silo";

    // Membership declares a killed silo dead in ~15-30 s; cover that with room to spare.
    private static readonly TimeSpan RetryWindow = TimeSpan.FromSeconds(90);

    /// <inheritdoc />
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var prefix = options?.AdditionalProperties?.TryGetValue(LlamaChatClient.PrefixLengthKey, out var value) == true ? Convert.ToInt32(value, System.Globalization.CultureInfo.InvariantCulture) : 0;
        var call = new InferenceCall(
            ChatPrompt.Render(messages),
            prefix,
            options?.MaxOutputTokens ?? 32,
            options?.Temperature ?? 0,
            (int)(options?.Seed ?? 0),
            options?.StopSequences is { Count: > 0 } stop ? [.. stop] : null);
        var reply = await CallWithRetryAsync(call, cancellationToken).ConfigureAwait(false);
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, reply.Text))
        {
            FinishReason = reply.FinishReason == "length" ? ChatFinishReason.Length : ChatFinishReason.Stop,
            Usage = new UsageDetails { InputTokenCount = reply.PromptTokens, OutputTokenCount = reply.CompletionTokens, TotalTokenCount = reply.PromptTokens + reply.CompletionTokens },
            AdditionalProperties = new AdditionalPropertiesDictionary
            {
                [SiloKey] = reply.Silo,
                [LlamaChatClient.AdapterResidentKey] = reply.AdapterWasResident,
                [LlamaChatClient.PrefixReusedKey] = reply.PrefixReused,
            },
        };
    }

    private async Task<InferenceReply> CallWithRetryAsync(InferenceCall call, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var delay = TimeSpan.FromMilliseconds(250);
        while (true)
        {
            try
            {
                return await grain.InferAsync(call, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (IsSiloLoss(ex) && time.GetElapsedTime(started) < RetryWindow && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
    }

    internal static bool IsSiloLoss(Exception ex) =>
        ex is SiloUnavailableException or OrleansMessageRejectionException or TimeoutException or ClientNotAvailableException
        || (ex is OrleansException && ex.Message.Contains("unavailable", StringComparison.OrdinalIgnoreCase));

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
