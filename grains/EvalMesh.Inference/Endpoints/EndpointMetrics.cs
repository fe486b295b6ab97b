using System.Text.Json;
using Prometheus;

namespace EvalMesh.Inference.Endpoints;

/// <summary>
/// Endpoint metrics, exported at a silo's <c>/metrics</c>, labelled by endpoint name (bounded by the configuration):
/// retries by reason, 429 answers, requests in flight and the concurrency limit in force now.
/// </summary>
public static class EndpointMetrics
{
    private static readonly Counter Retries = Metrics.CreateCounter(
        "evalmesh_endpoint_retries_total", "Attempts retried, by endpoint and reason (rate_limited, server_error, timeout, unreachable, bad_response).", "endpoint", "reason");

    private static readonly Counter RateLimited = Metrics.CreateCounter(
        "evalmesh_endpoint_rate_limited_total", "HTTP 429 answers, by endpoint.", "endpoint");

    private static readonly Gauge InFlight = Metrics.CreateGauge(
        "evalmesh_endpoint_in_flight_requests", "Requests to the endpoint in flight from this silo.", "endpoint");

    private static readonly Gauge ConcurrencyLimit = Metrics.CreateGauge(
        "evalmesh_endpoint_concurrency_limit_requests", "The most requests this silo's running shards may have in flight to the endpoint now.", "endpoint");

    /// <summary>Counts an attempt that will be retried.</summary>
    public static void Retried(string endpoint, EndpointProblem reason) =>
        Retries.WithLabels(endpoint, JsonNamingPolicy.SnakeCaseLower.ConvertName(reason.ToString())).Inc();

    /// <summary>Counts a 429 answer.</summary>
    public static void Throttled(string endpoint) => RateLimited.WithLabels(endpoint).Inc();

    /// <summary>Counts a request in flight until the returned scope is disposed.</summary>
    public static IDisposable Track(string endpoint) => InFlight.WithLabels(endpoint).TrackInProgress();

    /// <summary>Adds to the concurrency limit in force (a shard starting) until the returned scope is disposed (it ending).</summary>
    public static IDisposable Limit(string endpoint, int requests)
    {
        var limit = ConcurrencyLimit.WithLabels(endpoint);
        limit.Inc(requests);
        return new Scope(() => limit.Dec(requests));
    }

    private sealed class Scope(Action end) : IDisposable
    {
        public void Dispose() => end();
    }
}
