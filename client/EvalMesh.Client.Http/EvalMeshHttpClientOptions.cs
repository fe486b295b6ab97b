namespace EvalMesh.Client;

/// <summary>How the HTTP flavour of <see cref="IEvalMeshClient"/> reaches a silo's REST API.</summary>
public sealed class EvalMeshHttpClientOptions
{
    /// <summary>The silo's (or its load balancer's) base address, such as <c>https://evalmesh.example.com/</c>.</summary>
    public Uri? BaseAddress { get; set; }

    /// <summary>The API key, sent as <c>Authorization: Bearer KEY</c>; null for a silo without keys (loopback only).</summary>
    public string? ApiKey { get; set; }

    /// <summary>How long a request that is not a stream may take before it fails with a <see cref="TimeoutException"/>.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(100);

    /// <summary>
    /// How long reads keep trying while the silo answers 503 (a run's silo is going away) or 429 (with its
    /// <c>Retry-After</c>), and a progress stream keeps reconnecting after it broke off.
    /// </summary>
    public TimeSpan RetryWindow { get; set; } = TimeSpan.FromSeconds(90);
}
