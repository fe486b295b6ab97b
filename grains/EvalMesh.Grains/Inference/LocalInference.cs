using System.Runtime.CompilerServices;
using EvalMesh.Abstractions;
using EvalMesh.Inference.Hosting;

namespace EvalMesh.Grains.Inference;

/// <summary>Serves an <see cref="InferenceCall"/> on this silo's model host, whole or streamed.</summary>
internal static class LocalInference
{
    /// <summary>Runs the call on the host.</summary>
    public static async Task<InferenceReply> InferAsync(this ModelHost host, string model, string? adapter, InferenceCall call, string silo, CancellationToken cancellationToken) =>
        Reply(await host.InferAsync(Request(model, adapter, call), cancellationToken), silo);

    /// <summary>Runs the call on the host and yields its text as it is generated, then the reply; stopping early stops the generation.</summary>
    public static async IAsyncEnumerable<InferenceChunk> StreamAsync(this ModelHost host, string model, string? adapter, InferenceCall call, string silo, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var update in host.StreamAsync(Request(model, adapter, call), cancellationToken))
        {
            yield return new InferenceChunk(
                update.Text,
                update.Result is { } result ? Reply(result, silo) : null,
                Logprobs(update.Logprobs),
                update.AdapterWasResident is { } resident ? new InferenceRoute(silo, resident) : null);
        }
    }

    private static InferenceRequest Request(string model, string? adapter, InferenceCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        return new InferenceRequest(model, adapter, call.Prompt, new GenerationOptions(call.MaxTokens, call.Temperature, call.Seed, call.Stop, call.TopP, call.TopLogprobs), call.PrefixLength);
    }

    private static InferenceReply Reply(InferenceResult result, string silo) =>
        new(result.Text, result.PromptTokens, result.CompletionTokens, result.FinishReason, silo, result.AdapterWasResident, result.PrefixReused, Logprobs(result.Logprobs));

    private static List<TokenLogprob>? Logprobs(IReadOnlyList<TokenChoice>? choices) =>
        choices?.Select(c => new TokenLogprob(c.Token, c.Bytes, c.Logprob, Logprobs(c.Alternatives)!)).ToList();
}
