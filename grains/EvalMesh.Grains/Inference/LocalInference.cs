using System.Runtime.CompilerServices;
using System.Threading.Channels;
using EvalMesh.Abstractions;
using EvalMesh.Inference.Hosting;

namespace EvalMesh.Grains.Inference;

/// <summary>Serves an <see cref="InferenceCall"/> on this silo's model host, whole or streamed.</summary>
internal static class LocalInference
{
    /// <summary>Runs the call on the host.</summary>
    public static Task<InferenceReply> InferAsync(this ModelHost host, string model, string? adapter, InferenceCall call, string silo, CancellationToken cancellationToken) =>
        RunAsync(host, model, adapter, call, silo, null, cancellationToken);

    /// <summary>Runs the call on the host and yields its text as it is generated, then the reply; stopping early stops the generation.</summary>
    public static async IAsyncEnumerable<InferenceChunk> StreamAsync(this ModelHost host, string model, string? adapter, InferenceCall call, string silo, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var pieces = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        using var generation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var reply = RunAsync(host, model, adapter, call, silo, piece => pieces.Writer.TryWrite(piece), generation.Token);
        _ = reply.ContinueWith(_ => pieces.Writer.TryComplete(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        try
        {
            await foreach (var piece in pieces.Reader.ReadAllAsync(cancellationToken))
            {
                yield return new InferenceChunk(piece, null);
            }

            yield return new InferenceChunk(string.Empty, await reply);
        }
        finally
        {
            await generation.CancelAsync();
        }
    }

    private static async Task<InferenceReply> RunAsync(ModelHost host, string model, string? adapter, InferenceCall call, string silo, Action<string>? onText, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var request = new InferenceRequest(model, adapter, call.Prompt, new GenerationOptions(call.MaxTokens, call.Temperature, call.Seed, call.Stop), call.PrefixLength);
        var result = await host.InferAsync(request, onText, cancellationToken);
        return new InferenceReply(result.Text, result.PromptTokens, result.CompletionTokens, result.FinishReason, silo, result.AdapterWasResident, result.PrefixReused);
    }
}
