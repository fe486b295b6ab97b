using EvalMesh.Contracts;

namespace EvalMesh.Abstractions;

/// <summary>
/// An OpenAI-compatible model endpoint as the whole cluster sees it (key = its identity, see
/// <see cref="GrainKeys.ModelEndpoint"/>): it leases shares of the endpoint's limits to silos, so that together they
/// keep to them; it holds the circuit every silo obeys; it knows the price and counts what the cluster used.
/// </summary>
[Alias("evalmesh.model-endpoint")]
public interface IModelEndpointGrain : IGrainWithStringKey
{
    /// <summary>
    /// Renews a silo's lease: takes what it used and saw since its last call, and answers with its shares and the
    /// circuit. A silo calls about once a second while it uses the endpoint, and at once after a failure or to probe.
    /// </summary>
    [Alias("lease")]
    Task<LeaseGrant> LeaseAsync(LeaseRequest request);
}

/// <summary>An endpoint's circuit, cluster-wide.</summary>
public enum CircuitState
{
    /// <summary>Requests go.</summary>
    Closed,

    /// <summary>Too many attempts failed: nothing is sent until the break is over.</summary>
    Open,

    /// <summary>The break is over: one request in the whole cluster (the probe) tests the endpoint.</summary>
    HalfOpen,
}

/// <summary>What a silo says of the circuit's probe.</summary>
public enum ProbeReport
{
    /// <summary>Nothing.</summary>
    None,

    /// <summary>It has a request to send while the circuit is half-open: it asks to be the probe.</summary>
    Wanted,

    /// <summary>Its probe was answered: the circuit closes.</summary>
    Succeeded,

    /// <summary>Its probe failed: the circuit opens again.</summary>
    Failed,
}

/// <summary>
/// Shares of an endpoint's limits: a request rate, a token rate and concurrency slots (whole numbers in a grant); null
/// where the endpoint has no such limit. As a demand, <see cref="double.PositiveInfinity"/> is "as much as there is".
/// </summary>
/// <param name="RequestsPerSecond">Requests per second.</param>
/// <param name="TokensPerSecond">Tokens (prompt and completion) per second.</param>
/// <param name="Slots">Requests in flight at once.</param>
[GenerateSerializer, Immutable, Alias("evalmesh.lease-shares")]
public sealed record LeaseShares(
    [property: Id(0)] double? RequestsPerSecond,
    [property: Id(1)] double? TokensPerSecond,
    [property: Id(2)] double? Slots)
{
    /// <summary>No limit on anything.</summary>
    public static LeaseShares Unlimited { get; } = new(null, null, null);

    /// <summary>Nothing of any limit.</summary>
    public static LeaseShares Nothing { get; } = new(0, 0, 0);
}

/// <summary>What a silo sent an endpoint, and how it went, since its last lease request.</summary>
/// <param name="Requests">Attempts sent (retries count).</param>
/// <param name="Tokens">Tokens charged against the token limit: the endpoint's own count, or the estimate where it gave none.</param>
/// <param name="InputTokens">Prompt tokens, as the endpoint counted them.</param>
/// <param name="OutputTokens">Completion tokens, as the endpoint counted them.</param>
/// <param name="Successes">Attempts answered.</param>
/// <param name="Failures">Attempts that failed in a way that counts against the circuit (5xx, timeouts, dropped connections, malformed answers; not 429s).</param>
[GenerateSerializer, Immutable, Alias("evalmesh.endpoint-usage")]
public sealed record EndpointUsage(
    [property: Id(0)] long Requests,
    [property: Id(1)] long Tokens,
    [property: Id(2)] long InputTokens,
    [property: Id(3)] long OutputTokens,
    [property: Id(4)] int Successes,
    [property: Id(5)] int Failures)
{
    /// <summary>Nothing used.</summary>
    public static EndpointUsage None { get; } = new(0, 0, 0, 0, 0, 0);

    /// <summary>This and <paramref name="other"/> together.</summary>
    public EndpointUsage Add(EndpointUsage other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return new(Requests + other.Requests, Tokens + other.Tokens, InputTokens + other.InputTokens, OutputTokens + other.OutputTokens, Successes + other.Successes, Failures + other.Failures);
    }
}

/// <summary>A silo's lease request to an endpoint's grain.</summary>
/// <param name="Holder">The silo (its address).</param>
/// <param name="Endpoint">The endpoint's name in the config, for metrics.</param>
/// <param name="Limits">The limits in the silo's config (the latest asked with are in force).</param>
/// <param name="Price">The price in the silo's config.</param>
/// <param name="Held">The shares the silo holds now, as it applies them.</param>
/// <param name="Wanted">The shares it could use.</param>
/// <param name="Used">What it used since its last request.</param>
/// <param name="InFlight">Its requests in flight now.</param>
/// <param name="Probe">What it says of the circuit's probe.</param>
/// <param name="BreakFor">How long the circuit stays open once it opens.</param>
/// <param name="ProbeTimeout">How long a probe may take before another silo may probe instead.</param>
/// <param name="Release">The silo is done with the endpoint for now: its lease ends.</param>
[GenerateSerializer, Immutable, Alias("evalmesh.lease-request")]
public sealed record LeaseRequest(
    [property: Id(0)] string Holder,
    [property: Id(1)] string Endpoint,
    [property: Id(2)] RateLimit? Limits,
    [property: Id(3)] EndpointPrice? Price,
    [property: Id(4)] LeaseShares Held,
    [property: Id(5)] LeaseShares Wanted,
    [property: Id(6)] EndpointUsage Used,
    [property: Id(7)] int InFlight,
    [property: Id(8)] ProbeReport Probe,
    [property: Id(9)] TimeSpan BreakFor,
    [property: Id(10)] TimeSpan ProbeTimeout,
    [property: Id(11)] bool Release = false);

/// <summary>A silo's lease: its shares until <see cref="ValidFor"/> after it asked, unless renewed, and the circuit.</summary>
/// <param name="Granted">Its shares (null: no such limit).</param>
/// <param name="ValidFor">How long after the silo sent its request the shares may be used.</param>
/// <param name="RenewAfter">When to ask again.</param>
/// <param name="Circuit">The circuit's state.</param>
/// <param name="OpenFor">While open: how much longer the break lasts.</param>
/// <param name="Probe">Whether this silo is the half-open circuit's probe: it may send one request.</param>
[GenerateSerializer, Immutable, Alias("evalmesh.lease-grant")]
public sealed record LeaseGrant(
    [property: Id(0)] LeaseShares Granted,
    [property: Id(1)] TimeSpan ValidFor,
    [property: Id(2)] TimeSpan RenewAfter,
    [property: Id(3)] CircuitState Circuit,
    [property: Id(4)] TimeSpan OpenFor,
    [property: Id(5)] bool Probe);
