using EvalMesh.Abstractions;
using EvalMesh.Inference.Llama;

namespace EvalMesh.Inference.Tests;

/// <summary>A request with the files that serve it, as the tests build them.</summary>
internal sealed record Call(ModelFiles Files, InferenceRequest Request)
{
    /// <summary>The same call with other generation settings.</summary>
    public Call With(GenerationOptions options) => this with { Request = Request with { Options = options } };
}

internal static class ModelHostCalls
{
    public static Task<InferenceReply> InferAsync(this ModelHost host, Call call, CancellationToken cancellationToken) =>
        host.InferAsync(call.Files, call.Request, cancellationToken);

    public static Task<InferenceReply> InferAsync(this ModelHost host, Call call, Action<InferenceChunk> onText, CancellationToken cancellationToken) =>
        host.InferAsync(call.Files, call.Request, onText, cancellationToken);

    public static IAsyncEnumerable<InferenceChunk> StreamAsync(this ModelHost host, Call call, CancellationToken cancellationToken) =>
        host.StreamAsync(call.Files, call.Request, cancellationToken);
}
