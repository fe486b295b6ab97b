using System.Text.Json;
using EvalMesh.Abstractions;
using Prometheus;

namespace EvalMesh.Inference.Endpoints;

/// <summary>
/// Endpoint metrics, exported at a silo's <c>/metrics</c>, labelled by endpoint name (bounded by the configuration).
/// Each silo exports its own retries by reason, 429 answers, requests in flight and adaptive concurrency limit. The
/// cluster-wide figures of an OpenAI-compatible endpoint come from its grain, so only the silo holding it exports them
/// (take the <c>max</c> of a gauge, or the <c>sum</c> of a counter's rate, across silos): the limits, the shares
/// leased out now, the leases, what the cluster used and what that cost, and the circuit.
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
        "evalmesh_endpoint_circuit_open", "Cluster-wide: 1 while the endpoint's circuit is open after repeated failures, or half-open awaiting its probe; else 0.", "endpoint");

    private static readonly Counter CircuitOpened = Metrics.CreateCounter(
        "evalmesh_endpoint_circuit_opened_total", "Cluster-wide: times the endpoint's circuit opened.", "endpoint");

    private static readonly Gauge LimitRequests = Metrics.CreateGauge(
        "evalmesh_endpoint_limit_requests_per_minute", "Cluster-wide: the endpoint's rate-limit.requests-per-minute.", "endpoint");

    private static readonly Gauge LimitTokens = Metrics.CreateGauge(
        "evalmesh_endpoint_limit_tokens_per_minute", "Cluster-wide: the endpoint's rate-limit.tokens-per-minute.", "endpoint");

    private static readonly Gauge LimitConcurrency = Metrics.CreateGauge(
        "evalmesh_endpoint_limit_concurrent_requests", "Cluster-wide: the endpoint's rate-limit.max-concurrency.", "endpoint");

    private static readonly Gauge GrantedRequests = Metrics.CreateGauge(
        "evalmesh_endpoint_granted_requests_per_minute", "Cluster-wide: the request rates leased to silos now, added up.", "endpoint");

    private static readonly Gauge GrantedTokens = Metrics.CreateGauge(
        "evalmesh_endpoint_granted_tokens_per_minute", "Cluster-wide: the token rates leased to silos now, added up.", "endpoint");

    private static readonly Gauge GrantedConcurrency = Metrics.CreateGauge(
        "evalmesh_endpoint_granted_concurrent_requests", "Cluster-wide: the concurrency slots leased to silos now, added up.", "endpoint");

    private static readonly Gauge Leases = Metrics.CreateGauge(
        "evalmesh_endpoint_leases", "Cluster-wide: silos holding a lease on the endpoint.", "endpoint");

    private static readonly Counter UsedRequests = Metrics.CreateCounter(
        "evalmesh_endpoint_used_requests_total", "Cluster-wide: attempts sent to the endpoint, as the silos reported them.", "endpoint");

    private static readonly Counter UsedTokens = Metrics.CreateCounter(
        "evalmesh_endpoint_used_tokens_total", "Cluster-wide: tokens the endpoint counted, by direction (input: prompt, output: completion).", "endpoint", "direction");

    private static readonly Counter Cost = Metrics.CreateCounter(
        "evalmesh_endpoint_cost_total", "Cluster-wide: what the tokens the endpoint counted cost at its price (cost: input-per-mtok, output-per-mtok), in the price's currency.", "endpoint");

    /// <summary>Counts an attempt that will be retried.</summary>
    public static void Retried(string endpoint, EndpointProblem reason) =>
        Retries.WithLabels(endpoint, JsonNamingPolicy.SnakeCaseLower.ConvertName(reason.ToString())).Inc();

    /// <summary>Counts a 429 answer.</summary>
    public static void Throttled(string endpoint) => RateLimited.WithLabels(endpoint).Inc();

    /// <summary>Counts a request in flight until the returned scope is disposed.</summary>
    public static IDisposable Track(string endpoint) => InFlight.WithLabels(endpoint).TrackInProgress();

    /// <summary>Records the concurrency limit in force now.</summary>
    public static void ConcurrencyLimitIs(string endpoint, int requests) => ConcurrencyLimit.WithLabels(endpoint).Set(requests);

    /// <summary>Exports an endpoint's cluster-wide figures from its authority's books.</summary>
    public static void Cluster(string endpoint, EndpointLedger ledger, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(ledger);
        SetOrRemove(LimitRequests, endpoint, ledger.Limits?.RequestsPerMinute);
        SetOrRemove(LimitTokens, endpoint, ledger.Limits?.TokensPerMinute);
        SetOrRemove(LimitConcurrency, endpoint, ledger.Limits?.MaxConcurrency);
        var granted = ledger.Granted;
        SetOrRemove(GrantedRequests, endpoint, granted.RequestsPerSecond * 60);
        SetOrRemove(GrantedTokens, endpoint, granted.TokensPerSecond * 60);
        SetOrRemove(GrantedConcurrency, endpoint, granted.Slots);
        Leases.WithLabels(endpoint).Set(ledger.Holders.Count);
        UsedRequests.WithLabels(endpoint).IncTo(ledger.Used.Requests);
        UsedTokens.WithLabels(endpoint, "input").IncTo(ledger.Used.InputTokens);
        UsedTokens.WithLabels(endpoint, "output").IncTo(ledger.Used.OutputTokens);
        Cost.WithLabels(endpoint).IncTo(ledger.Cost);
        CircuitOpen.WithLabels(endpoint).Set(ledger.Circuit.StateAt(now) == CircuitState.Closed ? 0 : 1);
        CircuitOpened.WithLabels(endpoint).IncTo(ledger.Circuit.Opened);
    }

    /// <summary>Stops exporting an endpoint's cluster-wide figures (its grain left this silo).</summary>
    public static void ForgetCluster(string endpoint)
    {
        foreach (var gauge in new[] { LimitRequests, LimitTokens, LimitConcurrency, GrantedRequests, GrantedTokens, GrantedConcurrency, Leases, CircuitOpen })
        {
            gauge.RemoveLabelled(endpoint);
        }

        foreach (var counter in new[] { UsedRequests, Cost, CircuitOpened })
        {
            counter.RemoveLabelled(endpoint);
        }

        UsedTokens.RemoveLabelled(endpoint, "input");
        UsedTokens.RemoveLabelled(endpoint, "output");
    }

    private static void SetOrRemove(Gauge gauge, string endpoint, double? value)
    {
        if (value is { } set)
        {
            gauge.WithLabels(endpoint).Set(set);
        }
        else
        {
            gauge.RemoveLabelled(endpoint);
        }
    }
}
