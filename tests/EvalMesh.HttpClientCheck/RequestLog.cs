using System.Collections.Concurrent;

namespace EvalMesh.HttpClientCheck;

/// <summary>The requests the SDK sent, by method, counted by a handler in its HTTP pipeline.</summary>
internal sealed class RequestLog
{
    private readonly ConcurrentDictionary<string, int> _byMethod = new(StringComparer.Ordinal);

    public int Count(string method) => _byMethod.GetValueOrDefault(method);

    public sealed class Handler(RequestLog log) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            log._byMethod.AddOrUpdate(request.Method.Method, 1, (_, n) => n + 1);
            return base.SendAsync(request, cancellationToken);
        }
    }
}
