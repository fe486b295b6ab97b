using EvalMesh.Abstractions;
using EvalMesh.Contracts;

namespace EvalMesh.Inference.Endpoints;

/// <summary>
/// The authority's books for one endpoint: which holder (silo) holds what share of the endpoint's limits, the circuit,
/// and what the cluster used and what that cost. The <c>IModelEndpointGrain</c> keeps one for the cluster; a client
/// outside a cluster keeps its own.
/// <list type="bullet">
/// <item>Shares: each request and token limit is a rate; the holders that ask split it max-min fairly by what they
/// could use (<see cref="FairShare"/>), and a holder is granted no more than what the others do not hold now, so the
/// rates in force never add up to more than the limit. Others give up what they hold beyond their share when they
/// renew, about once a second. Concurrency slots are split the same way. A holder whose share was cut still counts
/// the old one until its next renewal (slots: and at least its requests in flight), since it goes on at the old rate
/// until the grant reaches it, which on a loaded silo takes a while.</item>
/// <item>A lease lasts <see cref="LeaseLifetime"/> after the request that renewed it. A holder that stops renewing
/// (it died) keeps nothing after that, or as soon as the authority learns it died (<see cref="Forget"/>).</item>
/// <item>After the authority itself moved (its silo died), it knows nothing of the leases its predecessor granted:
/// <see cref="Recover"/> names the holders that may still hold some, and until each has reported or their leases
/// must have run out, a holder is granted no more than it says it holds, and a new one nothing.</item>
/// </list>
/// Pure and stateful, like the adapter leases of the routing; time is passed in.
/// </summary>
public sealed class EndpointLedger
{
    /// <summary>How long a lease lasts unless renewed.</summary>
    public static readonly TimeSpan LeaseLifetime = TimeSpan.FromSeconds(30);

    /// <summary>How often a holder renews while it uses the endpoint.</summary>
    public static readonly TimeSpan RenewEvery = TimeSpan.FromSeconds(1);

    private readonly Dictionary<string, Holding> _holdings = new(StringComparer.Ordinal);
    private HashSet<string> _unreported = new(StringComparer.Ordinal);
    private DateTimeOffset _recoveringUntil;

    /// <summary>The limits in force: the latest a holder asked with.</summary>
    public RateLimit? Limits { get; private set; }

    /// <summary>The circuit.</summary>
    public EndpointCircuit Circuit { get; } = new();

    /// <summary>Everything the holders reported using, since the ledger was made.</summary>
    public EndpointUsage Used { get; private set; } = EndpointUsage.None;

    /// <summary>What <see cref="Used"/> cost at the price each holder reported with it.</summary>
    public double Cost { get; private set; }

    /// <summary>The holders with a lease.</summary>
    public IReadOnlyCollection<string> Holders => _holdings.Keys;

    /// <summary>The shares held now, added up (null where there is no limit).</summary>
    public LeaseShares Granted => new(
        Limits?.RequestsPerMinute is null ? null : _holdings.Values.Sum(h => h.Granted.RequestsPerSecond ?? 0),
        Limits?.TokensPerMinute is null ? null : _holdings.Values.Sum(h => h.Granted.TokensPerSecond ?? 0),
        Limits?.MaxConcurrency is null ? null : _holdings.Values.Sum(h => h.HeldSlots));

    /// <summary>Whether it still waits to hear from holders its predecessor may have granted shares to.</summary>
    public bool IsRecovering(DateTimeOffset now) => _unreported.Count > 0 && now < _recoveringUntil;

    /// <summary>A new authority's start after its predecessor's end: <paramref name="holders"/> may still hold shares.</summary>
    public void Recover(IEnumerable<string> holders, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(holders);
        _unreported = holders.Where(h => !_holdings.ContainsKey(h)).ToHashSet(StringComparer.Ordinal);
        _recoveringUntil = now + LeaseLifetime;
    }

    /// <summary>A holder is gone (its silo died): what it held is free, and so is a probe it held.</summary>
    public void Forget(string holder)
    {
        _holdings.Remove(holder);
        _unreported.Remove(holder);
        Circuit.Forget(holder);
    }

    /// <summary>Ends the leases not renewed within their lifetime; returns whether any ended.</summary>
    public bool Prune(DateTimeOffset now)
    {
        var expired = _holdings.Where(h => now - h.Value.Renewed > LeaseLifetime).Select(h => h.Key).ToList();
        foreach (var holder in expired)
        {
            Forget(holder);
        }

        return expired.Count > 0;
    }

    /// <summary>Renews <paramref name="request"/>'s holder's lease: books what it reports, then grants its shares.</summary>
    public LeaseGrant Lease(LeaseRequest request, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(request);
        Prune(now);
        Limits = request.Limits;
        Used = Used.Add(request.Used);
        Cost += request.Price?.Of(request.Used.InputTokens, request.Used.OutputTokens) ?? 0;
        var holder = request.Holder;
        Circuit.Record(request.Used.Successes, request.Used.Failures, request.BreakFor, now);
        var probe = request.Probe switch
        {
            ProbeReport.Succeeded or ProbeReport.Failed => EndProbe(request, now),
            ProbeReport.Wanted => Circuit.TryProbe(holder, request.ProbeTimeout, now),
            _ => Circuit.IsProbing(holder, now),
        };

        // Until every holder its predecessor may have granted to has reported, no one gets more than it holds.
        var recovering = IsRecovering(now);
        _unreported.Remove(holder);
        if (request.Release)
        {
            Forget(holder);
            return Grant(LeaseShares.Nothing, shortOfShare: false, probe: false, now);
        }

        var others = _holdings.Where(h => h.Key != holder).Select(h => h.Value).ToList();
        var requests = Rate(Limits?.RequestsPerMinute, others, request, s => s.RequestsPerSecond, recovering, out var shortOfRequests);
        var tokens = Rate(Limits?.TokensPerMinute, others, request, s => s.TokensPerSecond, recovering, out var shortOfTokens);
        var slots = Slots(others, request, recovering, out var shortOfSlots);
        var granted = new LeaseShares(requests, tokens, slots);
        var previous = _holdings.GetValueOrDefault(holder)?.Granted;
        var cut = previous is not null && (Below(requests, previous.RequestsPerSecond) || Below(tokens, previous.TokensPerSecond) || Below(slots, previous.Slots));
        _holdings[holder] = new Holding(granted, request.Wanted, now, request.InFlight, cut ? previous : null);
        return Grant(granted, shortOfRequests || shortOfTokens || shortOfSlots, probe, now);
    }

    private bool EndProbe(LeaseRequest request, DateTimeOffset now)
    {
        Circuit.ProbeEnded(request.Holder, request.Probe == ProbeReport.Succeeded, request.BreakFor, now);
        return false;
    }

    private LeaseGrant Grant(LeaseShares granted, bool shortOfShare, bool probe, DateTimeOffset now) => new(
        granted,
        LeaseLifetime,
        shortOfShare ? RenewEvery / 4 : RenewEvery,
        Circuit.StateAt(now),
        Circuit.OpenFor(now),
        probe);

    // A rate limit's share for the requester: its fair share, but no more than the others leave free.
    private static double? Rate(int? perMinute, List<Holding> others, LeaseRequest request, Func<LeaseShares, double?> pick, bool recovering, out bool shortOfShare)
    {
        shortOfShare = false;
        if (perMinute is not { } limit)
        {
            return null;
        }

        var capacity = limit / 60.0;
        var share = FairShare.Split(capacity, [.. others.Select(o => pick(o.Wanted) ?? double.PositiveInfinity), pick(request.Wanted) ?? double.PositiveInfinity])[^1];
        var free = capacity - others.Sum(o => o.Held(pick));
        var granted = Math.Max(0, Math.Min(share, free));
        if (recovering)
        {
            granted = Math.Min(granted, pick(request.Held) ?? 0);
        }

        shortOfShare = granted < share - 1e-9;
        return granted;
    }

    private double? Slots(List<Holding> others, LeaseRequest request, bool recovering, out bool shortOfShare)
    {
        shortOfShare = false;
        if (Limits?.MaxConcurrency is not { } limit)
        {
            return null;
        }

        var share = FairShare.SplitWhole(limit, [.. others.Select(o => o.Wanted.Slots ?? double.PositiveInfinity), request.Wanted.Slots ?? double.PositiveInfinity])[^1];
        var free = limit - others.Sum(o => o.HeldSlots);
        double granted = Math.Max(0, Math.Min(share, free));
        if (recovering)
        {
            granted = Math.Min(granted, request.Held.Slots ?? 0);
        }

        shortOfShare = granted < share;
        return granted;
    }

    private static bool Below(double? granted, double? before) => (granted ?? 0) < (before ?? 0);

    // What a holder was granted and wanted at its last renewal. In the round after a cut it holds what it had before
    // too; its slots count at least its requests in flight then.
    private sealed record Holding(LeaseShares Granted, LeaseShares Wanted, DateTimeOffset Renewed, int InFlight, LeaseShares? BeforeCut)
    {
        public double HeldSlots => Math.Max(Held(s => s.Slots), InFlight);

        public double Held(Func<LeaseShares, double?> pick) => Math.Max(pick(Granted) ?? 0, BeforeCut is null ? 0 : pick(BeforeCut) ?? 0);
    }
}
