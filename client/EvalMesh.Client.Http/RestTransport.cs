using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using EvalMesh.Abstractions;
using EvalMesh.Evaluation;

namespace EvalMesh.Client;

/// <summary>
/// Requests to a silo's REST API: relative paths under the base address, reads retried through 503 and 429 within
/// <see cref="EvalMeshHttpClientOptions.RetryWindow"/>, requests that are not streams bounded by
/// <see cref="EvalMeshHttpClientOptions.RequestTimeout"/>, and refusals turned into the exceptions the Orleans flavour
/// throws for the same mistakes (<see cref="RunNotFoundException"/>, <see cref="EvalMeshInputException"/>,
/// <see cref="AdapterRejectedException"/>), or else <see cref="EvalMeshServerException"/>.
/// </summary>
internal sealed class RestTransport(HttpClient http, EvalMeshHttpClientOptions options, TimeProvider time)
{
    /// <summary>How answers are read: as the silo writes them (<see cref="ReportWriter.Json"/>), sets included.</summary>
    public static JsonSerializerOptions Json { get; } = new(ReportWriter.Json) { Converters = { new ReadOnlySetConverter() } };

    public EvalMeshHttpClientOptions Options => options;

    public TimeProvider Time => time;

    /// <summary>Sends a request whose answer is read whole, and reads it as JSON.</summary>
    public async Task<T> SendAsync<T>(HttpMethod method, string path, HttpContent? content, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.RequestTimeout);
        try
        {
            using var response = await SendAsync(method, path, content, HttpCompletionOption.ResponseContentRead, timeout.Token).ConfigureAwait(false);
            return await response.Content.ReadFromJsonAsync<T>(Json, timeout.Token).ConfigureAwait(false)
                ?? throw new EvalMeshServerException((int)response.StatusCode, null, $"{method} {path} answered null");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"{method} {http.BaseAddress}{path} did not answer within {options.RequestTimeout.TotalSeconds:0} s");
        }
    }

    /// <summary>Sends a request; a 404 is answered as null instead of an exception (for "is it there?").</summary>
    public async Task<HttpResponseMessage?> SendOrNotFoundAsync(HttpMethod method, string path, CancellationToken cancellationToken)
    {
        try
        {
            return await SendAsync(method, path, null, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        }
        catch (EvalMeshServerException ex) when (ex.Status == (int)HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>
    /// Sends a request and returns its successful answer (with <see cref="HttpCompletionOption.ResponseHeadersRead"/>,
    /// a stream to read as it comes); a refusal is thrown as the matching exception.
    /// </summary>
    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, HttpContent? content, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        long? retryingSince = null;
        while (true)
        {
            using var request = new HttpRequestMessage(method, path) { Content = content };
            var response = await http.SendAsync(request, completion, cancellationToken).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                return response;
            }

            using (response)
            {
                // Reads are safe to repeat; a run's silo going away (503) or the rate limit (429) passes.
                var transient = response.StatusCode is HttpStatusCode.ServiceUnavailable or HttpStatusCode.TooManyRequests;
                if (transient && (method == HttpMethod.Get || method == HttpMethod.Head) && time.GetElapsedTime(retryingSince ??= time.GetTimestamp()) < options.RetryWindow)
                {
                    await Task.Delay(RetryAfter(response), time, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                throw await ProblemAsync(response, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static TimeSpan RetryAfter(HttpResponseMessage response) =>
        response.Headers.RetryAfter?.Delta is { } delta && delta > TimeSpan.Zero ? TimeSpan.FromTicks(Math.Min(delta.Ticks, TimeSpan.FromSeconds(30).Ticks)) : TimeSpan.FromSeconds(1);

    // The exception the Orleans flavour throws for the same refusal, so that callers handle one set.
    private static async Task<Exception> ProblemAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        string? title = null, detail = null, runId = null, jobId = null;
        try
        {
            using var problem = JsonDocument.Parse(text);
            // ProblemDetails from the REST API, or OpenAI's error shape from the gateway.
            var error = problem.RootElement.ValueKind == JsonValueKind.Object && problem.RootElement.TryGetProperty("error", out var e) ? e : default;
            title = Text(problem.RootElement, "title") ?? Text(error, "code");
            detail = Text(problem.RootElement, "detail") ?? Text(error, "message");
            runId = Text(problem.RootElement, "runId");
            jobId = Text(problem.RootElement, "jobId");
        }
        catch (JsonException)
        {
            // Not ProblemDetails (a proxy's page, an empty 413): the status says what happened.
        }

        detail ??= text.Length is > 0 and < 500 && !text.Contains('<', StringComparison.Ordinal) ? text.Trim() : response.ReasonPhrase ?? "no reason given";
        return (status, title) switch
        {
            (404, _) when runId is not null => new RunNotFoundException(runId),
            (404, _) when jobId is not null => new TrainingJobNotFoundException(jobId),
            (400, "adapter rejected") => new AdapterRejectedException(detail),
            (400, _) => new EvalMeshInputException(detail),
            _ => new EvalMeshServerException(status, title, detail),
        };

        static string? Text(JsonElement root, string property) =>
            root.ValueKind == JsonValueKind.Object && root.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
    }
}
