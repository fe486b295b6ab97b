using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace EvalMesh.Inference.Endpoints;

/// <summary>
/// <c>openai</c>: any OpenAI-compatible chat-completions API. Each attempt has a timeout; 429, 5xx, timeouts, dropped
/// connections and malformed bodies are retried with exponential backoff that honours <c>Retry-After</c>; a request
/// the endpoint rejects (other 4xx) is not retried. Every attempt first asks the <see cref="EndpointGovernor"/> for
/// leave: a concurrency slot (adapted to 429s), the endpoint's circuit (when half the attempts of the last 10 s failed,
/// 429s aside, it opens: calls wait out the break instead of adding load, without using up their retries, and one
/// probe closes it again) and, under a rate limit, this process's share of it. In a cluster the governor's lease and
/// the circuit are the endpoint's grain's, shared by every silo; on its own the client keeps them itself. When the
/// retries run out the call throws <see cref="EndpointException"/>, which an eval records as an error, never as a
/// wrong answer. Evals fetch answers whole (with their retries); streaming reads the endpoint's server-sent events as
/// they come.
/// </summary>
public sealed class OpenAiChatClient : WholeAnswerChatClient
{
    private static readonly JsonSerializerOptions Json = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private readonly HttpClient _http;
    private readonly OpenAiEndpointOptions _options;
    private readonly ResiliencePipeline _retries;
    private readonly ResiliencePipeline _timeout;
    private readonly EndpointGovernor _governor;
    private readonly Uri _completions;

    /// <summary>
    /// Creates a client that sends through <paramref name="http"/> (whose own timeout should be infinite), under
    /// <paramref name="governor"/> (a cluster's, shared by the endpoint's clients on this silo), or one of its own.
    /// </summary>
    public OpenAiChatClient(HttpClient http, OpenAiEndpointOptions options, TimeProvider? timeProvider = null, EndpointGovernor? governor = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        _http = http;
        _options = options;
        _completions = new Uri(options.BaseUrl.ToString().TrimEnd('/') + "/chat/completions");
        var clock = timeProvider ?? TimeProvider.System;
        _governor = governor ?? new EndpointGovernor("local", new LocalEndpointAuthority(clock), options, clock);
        var retries = new ResiliencePipelineBuilder { TimeProvider = clock };
        if (options.MaxRetries > 0)
        {
            retries.AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(250),
                MaxDelay = options.RetryAfterCap,
                ShouldHandle = new PredicateBuilder()
                    .Handle<AttemptFailedException>(e => e.Retryable)
                    .Handle<TimeoutRejectedException>(),
                OnRetry = args =>
                {
                    EndpointMetrics.Retried(options.Name, args.Outcome.Exception is AttemptFailedException failed ? failed.Problem : EndpointProblem.Timeout);
                    return default;
                },
                DelayGenerator = args => ValueTask.FromResult(
                    args.Outcome.Exception is AttemptFailedException { RetryAfter: { } after }
                        ? (TimeSpan?)(after < options.RetryAfterCap ? after : options.RetryAfterCap)
                        : null),
            });
        }

        _retries = retries.Build();

        // The timeout covers an attempt, not its wait for the governor's leave.
        _timeout = new ResiliencePipelineBuilder { TimeProvider = clock }.AddTimeout(options.AttemptTimeout).Build();
    }

    /// <summary>The endpoint's settings.</summary>
    public OpenAiEndpointOptions Options => _options;

    /// <summary>The most requests this client's process sends at once now (see <see cref="AimdConcurrency"/>).</summary>
    public int ConcurrencyLimit => _governor.ConcurrencyLimit;

    /// <inheritdoc />
    public override Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var body = RequestBody(messages, options, stream: false);
        return SendAsync(token => AttemptAsync(body, token), response => response.Usage, EstimateTokens(messages, options), cancellationToken);
    }

    /// <summary>
    /// The answer as the endpoint streams it (server-sent events). The request is retried as a whole answer's is until
    /// the endpoint accepts it; after that a failure ends the stream with <see cref="EndpointException"/>.
    /// </summary>
    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var body = RequestBody(messages, options, stream: true);
        using var response = await SendAsync(token => OpenAsync(body, token), _ => null, EstimateTokens(messages, options), cancellationToken).ConfigureAwait(false);
        using var events = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false));
        while (await NextEventAsync(events, cancellationToken).ConfigureAwait(false) is { } data && data != "[DONE]")
        {
            yield return ParseChunk(data);
        }
    }

    // What a request is charged against a token limit before the endpoint counts it, as OpenAI's own limiter does: the
    // prompt at about four characters a token, and the most tokens it may generate.
    private static double EstimateTokens(IEnumerable<ChatMessage> messages, ChatOptions? options) =>
        Math.Ceiling(messages.Sum(m => m.Text.Length) / 4.0) + (options?.MaxOutputTokens ?? 0);

    // Retries count attempts that reached the endpoint: waiting for the governor's leave (a slot, the circuit, a share
    // of a rate limit) is not an attempt, and neither is waiting out a backoff or a Retry-After.
    private async Task<T> SendAsync<T>(Func<CancellationToken, Task<T>> attempt, Func<T, UsageDetails?> usageOf, double estimatedTokens, CancellationToken cancellationToken)
    {
        var attempts = 0;
        try
        {
            return await _retries.ExecuteAsync(async token =>
            {
                using var permit = await _governor.AcquireAsync(estimatedTokens, token).ConfigureAwait(false);
                attempts++;
                try
                {
                    var result = await _timeout.ExecuteAsync(async inner => await attempt(inner).ConfigureAwait(false), token).ConfigureAwait(false);
                    var usage = usageOf(result);
                    permit.Answered(usage?.InputTokenCount, usage?.OutputTokenCount);
                    return result;
                }
                catch (AttemptFailedException ex)
                {
                    permit.Failed(ex.Problem);
                    throw;
                }
                catch (TimeoutRejectedException)
                {
                    permit.Failed(EndpointProblem.Timeout);
                    throw;
                }
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (AttemptFailedException ex)
        {
            throw new EndpointException(_options.Name, ex.Problem, ex.Message, attempts, ex);
        }
        catch (TimeoutRejectedException ex)
        {
            throw new EndpointException(_options.Name, EndpointProblem.Timeout, $"no answer within {_options.AttemptTimeout.TotalSeconds:0.##} s", attempts, ex);
        }
    }

    private string RequestBody(IEnumerable<ChatMessage> messages, ChatOptions? options, bool stream)
    {
        var body = new JsonObject
        {
            ["model"] = _options.Model,
            ["messages"] = new JsonArray([.. messages.Select(m => (JsonNode)new JsonObject { ["role"] = m.Role.Value, ["content"] = m.Text })]),
            ["stream"] = stream,
        };
        if (stream)
        {
            body["stream_options"] = new JsonObject { ["include_usage"] = true };
        }

        if (options?.MaxOutputTokens is { } max)
        {
            body["max_tokens"] = max;
        }

        if (options?.Temperature is { } temperature)
        {
            body["temperature"] = temperature;
        }

        if (options?.TopP is { } topP)
        {
            body["top_p"] = topP;
        }

        if (options?.Seed is { } seed)
        {
            body["seed"] = seed;
        }

        if (options?.StopSequences is { Count: > 0 } stop)
        {
            body["stop"] = new JsonArray([.. stop.Select(s => (JsonNode)s)]);
        }

        return body.ToJsonString(Json);
    }

    private async Task<ChatResponse> AttemptAsync(string body, CancellationToken cancellationToken)
    {
        using var response = await OpenAsync(body, cancellationToken).ConfigureAwait(false);
        return Parse(await ReadAsync(response, cancellationToken).ConfigureAwait(false));
    }

    // Sends the request and returns the response once the endpoint has accepted it, its body still to read.
    private async Task<HttpResponseMessage> OpenAsync(string body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _completions) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (_options.ApiKey is { Length: > 0 } key)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw new AttemptFailedException(EndpointProblem.Unreachable, $"cannot connect to {_options.BaseUrl}: {ex.Message}", retryable: true);
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            var text = await ReadAsync(response, cancellationToken).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                EndpointMetrics.Throttled(_options.Name);
                throw new AttemptFailedException(EndpointProblem.RateLimited, "HTTP 429", retryable: true, RetryAfter(response));
            }

            throw status >= 500
                ? new AttemptFailedException(EndpointProblem.ServerError, $"HTTP {status}: {Snippet(text)}", retryable: true, RetryAfter(response))
                : new AttemptFailedException(EndpointProblem.Rejected, $"HTTP {status}: {Snippet(text)}", retryable: false);
        }
    }

    private static async Task<string> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            return await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            throw new AttemptFailedException(EndpointProblem.Unreachable, $"the connection dropped while reading the answer: {ex.Message}", retryable: true);
        }
    }

    // The data of the next server-sent event, or null at the end of the stream. A stream silent for an attempt's
    // timeout has stalled.
    private async Task<string?> NextEventAsync(StreamReader events, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                using var quiet = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                quiet.CancelAfter(_options.AttemptTimeout);
                if (await events.ReadLineAsync(quiet.Token).ConfigureAwait(false) is not { } line)
                {
                    return null;
                }

                if (line.StartsWith("data:", StringComparison.Ordinal))
                {
                    return line["data:".Length..].Trim();
                }
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            throw new EndpointException(_options.Name, EndpointProblem.Unreachable, $"the connection dropped while streaming the answer: {ex.Message}", 1, ex);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new EndpointException(_options.Name, EndpointProblem.Timeout, $"the stream sent nothing for {_options.AttemptTimeout.TotalSeconds:0.##} s", 1, ex);
        }
    }

    private ChatResponseUpdate ParseChunk(string data)
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(data) as JsonObject ?? throw new JsonException("not an object");
        }
        catch (JsonException ex)
        {
            throw new EndpointException(_options.Name, EndpointProblem.BadResponse, $"the stream sent something that is not a chunk: {Snippet(data)}", 1, ex);
        }

        if (root["error"] is JsonObject error)
        {
            throw new EndpointException(_options.Name, EndpointProblem.ServerError, $"the stream ended with an error: {error["message"]?.ToString() ?? Snippet(data)}", 1);
        }

        var choice = root["choices"] is JsonArray { Count: > 0 } choices ? choices[0] : null;
        var update = new ChatResponseUpdate(ChatRole.Assistant, choice?["delta"]?["content"]?.GetValue<string>() ?? choice?["text"]?.GetValue<string>())
        {
            ModelId = root["model"]?.GetValue<string>(),
            FinishReason = choice?["finish_reason"]?.GetValue<string>() is { } reason ? new ChatFinishReason(reason) : null,
        };
        if (Usage(root) is { } usage)
        {
            update.Contents.Add(new UsageContent(usage));
        }

        return update;
    }

    private static UsageDetails? Usage(JsonObject root) => root["usage"] is JsonObject usage
        ? new UsageDetails
        {
            InputTokenCount = usage["prompt_tokens"]?.GetValue<long>(),
            OutputTokenCount = usage["completion_tokens"]?.GetValue<long>(),
            TotalTokenCount = usage["total_tokens"]?.GetValue<long>(),
        }
        : null;

    private static ChatResponse Parse(string text)
    {
        try
        {
            var root = JsonNode.Parse(text) as JsonObject;
            var choice = root?["choices"] is JsonArray { Count: > 0 } choices ? choices[0] : null;
            var content = choice?["message"]?["content"]?.GetValue<string>()
                ?? throw new AttemptFailedException(EndpointProblem.BadResponse, $"no choices[0].message.content in {Snippet(text)}", retryable: true);
            return new ChatResponse(new ChatMessage(ChatRole.Assistant, content))
            {
                ModelId = root!["model"]?.GetValue<string>(),
                FinishReason = choice!["finish_reason"]?.GetValue<string>() is { } reason ? new ChatFinishReason(reason) : null,
                Usage = Usage(root),
            };
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            throw new AttemptFailedException(EndpointProblem.BadResponse, $"the body is not a chat completion: {Snippet(text)}", retryable: true);
        }
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response) => response.Headers.RetryAfter switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date - DateTimeOffset.UtcNow is var wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero,
        _ => null,
    };

    private static string Snippet(string text) => text.Length <= 200 ? text : text[..200] + "…";

    private sealed class AttemptFailedException(EndpointProblem problem, string message, bool retryable, TimeSpan? retryAfter = null) : Exception(message)
    {
        public EndpointProblem Problem { get; } = problem;

        public bool Retryable { get; } = retryable;

        public TimeSpan? RetryAfter { get; } = retryAfter;
    }
}
