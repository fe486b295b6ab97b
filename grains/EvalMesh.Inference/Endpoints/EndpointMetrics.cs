using System.Text.Json;
using Prometheus;

namespace EvalMesh.Inference.Endpoints;

/// <summary>
/// Endpoint metrics, exported at a silo's <c>/metrics</c>, labelled by endpoint name (bounded by the configuration):
/// retries by reason, 429 answers, requests in flight, and for OpenAI-compatible endpoints the adaptive concurrency limit
/// in force now and whether the circuit is open.
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
        "evalmesh_endpoint_concurrency_limit_requests", "The most requests this silo sends the endpoint at once now: halved on 429s, regrown on successes.", "endpoint");

    private static readonly Gauge CircuitOpen = Metrics.CreateGauge(
        "evalmesh_endpoint_circuit_open", "1 while the endpoint's circuit is open after repeated failures, else 0.", "endpoint");

    /// <summary>Counts an attempt that will be retried.</summary>
    public static void Retried(string endpoint, EndpointProblem reason) =>
        Retries.WithLabels(endpoint, JsonNamingPolicy.SnakeCaseLower.ConvertName(reason.ToString())).Inc();

    /// <summary>Counts a 429 answer.</summary>
    public static void Throttled(string endpoint) => RateLimited.WithLabels(endpoint).Inc();

    /// <summary>Counts a request in flight until the returned scope is disposed.</summary>
    public static IDisposable Track(string endpoint) => InFlight.WithLabels(endpoint).TrackInProgress();

    /// <summary>Records the concurrency limit in force now.</summary>
    public static void ConcurrencyLimitIs(string endpoint, int requests) => ConcurrencyLimit.WithLabels(endpoint).Set(requests);

    /// <summary>Records whether the circuit is open.</summary>
    public static void CircuitIs(string endpoint, bool open) => CircuitOpen.WithLabels(endpoint).Set(open ? 1 : 0);
}
