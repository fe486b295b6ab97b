using EvalMesh.Contracts;

namespace EvalMesh.Inference.Endpoints;

/// <summary>Settings of an OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp server, EvalMesh's gateway).</summary>
/// <param name="Name">The endpoint's name, used in errors and reports.</param>
/// <param name="BaseUrl">The API base, such as <c>https://api.openai.com/v1</c>; <c>/chat/completions</c> is appended.</param>
/// <param name="Model">The model name sent in requests.</param>
/// <param name="ApiKey">The API key, or null; it is sent as a bearer token and never logged or put in messages.</param>
/// <param name="Timeout">Per-attempt timeout.</param>
/// <param name="MaxRetries">Retries after the first attempt for 429, 5xx, timeouts, dropped connections and malformed bodies.</param>
/// <param name="MaxRetryAfter">The longest Retry-After honoured; longer waits are cut to this.</param>
/// <param name="MaxConcurrency">The most requests in flight from this process; 429s lower it for a while (AIMD).</param>
/// <param name="BreakDuration">How long the circuit stays open after failures pile up (5 s unless set).</param>
/// <param name="RateLimit">The limits the whole cluster keeps to together, leased to each process; null for none.</param>
/// <param name="Price">The price per million tokens, for the cost the endpoint's authority counts; null when unknown.</param>
public sealed record OpenAiEndpointOptions(
    string Name,
    Uri BaseUrl,
    string Model,
    string? ApiKey = null,
    TimeSpan? Timeout = null,
    int MaxRetries = 4,
    TimeSpan? MaxRetryAfter = null,
    int MaxConcurrency = 16,
    TimeSpan? BreakDuration = null,
    RateLimit? RateLimit = null,
    EndpointPrice? Price = null)
{
    /// <summary>How long the circuit stays open once it opens.</summary>
    public TimeSpan BreakFor => BreakDuration ?? TimeSpan.FromSeconds(5);

    /// <summary>The per-attempt timeout, 60 s unless set.</summary>
    public TimeSpan AttemptTimeout => Timeout ?? TimeSpan.FromSeconds(60);

    /// <summary>The longest honoured Retry-After, 60 s unless set.</summary>
    public TimeSpan RetryAfterCap => MaxRetryAfter ?? TimeSpan.FromSeconds(60);

    /// <inheritdoc />
    public override string ToString() => $"{Name} ({BaseUrl}, model {Model})";
}
