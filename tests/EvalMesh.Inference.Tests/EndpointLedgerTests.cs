using EvalMesh.Abstractions;
using EvalMesh.Contracts;
using EvalMesh.Inference.Endpoints;

namespace EvalMesh.Inference.Tests;

public sealed class EndpointLedgerTests
{
    private const double All = double.PositiveInfinity;
    private static readonly RateLimit Limits = new(RequestsPerMinute: 600, TokensPerMinute: 60_000, MaxConcurrency: 8);
    private readonly EndpointLedger _ledger = new();
    private DateTimeOffset _now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    private static LeaseRequest Ask(string holder, LeaseShares? wanted = null, LeaseShares? held = null, EndpointUsage? used = null, int inFlight = 0, ProbeReport probe = ProbeReport.None, RateLimit? limits = null, bool release = false) =>
        new(holder, "gpt", limits ?? Limits, new EndpointPrice(2, 8), held ?? LeaseShares.Nothing, wanted ?? new LeaseShares(All, All, All), used ?? EndpointUsage.None, inFlight, probe, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(2), release);

    [Fact]
    public void ALoneHolder_GetsTheWholeLimit()
    {
        var grant = _ledger.Lease(Ask("a"), _now);
        Assert.Equal(new LeaseShares(10, 1000, 8), grant.Granted);
        Assert.Equal(EndpointLedger.LeaseLifetime, grant.ValidFor);
        Assert.Equal(EndpointLedger.RenewEvery, grant.RenewAfter);
        Assert.Equal(CircuitState.Closed, grant.Circuit);
    }

    [Fact]
    public void WithoutLimits_EverythingIsUnlimited()
    {
        var grant = _ledger.Lease(Ask("a", limits: new RateLimit(null, null, null)), _now);
        Assert.Equal(LeaseShares.Unlimited, grant.Granted);
    }

    [Fact]
    public void ANewHolder_GetsOnlyWhatTheOthersLeaveFree_UntilTheyHaveHeardOfTheirCut_ThenAnEqualShare()
    {
        _ledger.Lease(Ask("a"), _now);
        var b = _ledger.Lease(Ask("b"), _now);
        Assert.Equal(new LeaseShares(0, 0, 0), b.Granted);
        Assert.True(b.RenewAfter < EndpointLedger.RenewEvery, "a holder short of its share asks again sooner");

        // a renews and gives up half of each rate, but goes on at the old rate until the grant reaches it: b gets the
        // half once a has renewed again, which it only does after hearing (slots: see the next test).
        var a = _ledger.Lease(Ask("a"), _now.AddSeconds(1)).Granted;
        Assert.Equal((5.0, 500.0), (a.RequestsPerSecond!.Value, a.TokensPerSecond!.Value));
        b = _ledger.Lease(Ask("b"), _now.AddSeconds(1));
        Assert.Equal((0.0, 0.0), (b.Granted.RequestsPerSecond!.Value, b.Granted.TokensPerSecond!.Value));
        _ledger.Lease(Ask("a"), _now.AddSeconds(2));
        b = _ledger.Lease(Ask("b"), _now.AddSeconds(2));
        Assert.Equal((5.0, 500.0), (b.Granted.RequestsPerSecond!.Value, b.Granted.TokensPerSecond!.Value));
        Assert.Equal((10.0, 1000.0), (_ledger.Granted.RequestsPerSecond!.Value, _ledger.Granted.TokensPerSecond!.Value));
    }

    [Fact]
    public void AHolderThatUsesLittle_GetsWhatItWants_AndTheOthersTheRest()
    {
        _ledger.Lease(Ask("a", wanted: new LeaseShares(1, 100, 1)), _now);
        var b = _ledger.Lease(Ask("b"), _now);
        Assert.Equal(new LeaseShares(9, 900, 7), b.Granted);
    }

    [Fact]
    public void SlotsCut_StillCountTheOldNumber_ForOneRound_AndAlwaysWhatIsInFlight()
    {
        _ledger.Lease(Ask("a"), _now);
        _ledger.Lease(Ask("b"), _now);

        // a is cut from 8 to 4, but may have started up to 8 before it heard: b gets none of them yet.
        Assert.Equal(4, _ledger.Lease(Ask("a", inFlight: 8), _now.AddSeconds(1)).Granted.Slots);
        Assert.Equal(0, _ledger.Lease(Ask("b"), _now.AddSeconds(1)).Granted.Slots);

        // Next round a has 6 in flight still: b gets the 2 beyond them.
        _ledger.Lease(Ask("a", inFlight: 6), _now.AddSeconds(2));
        Assert.Equal(2, _ledger.Lease(Ask("b"), _now.AddSeconds(2)).Granted.Slots);

        // Once a's requests drained, b has its equal share.
        _ledger.Lease(Ask("a", inFlight: 1), _now.AddSeconds(3));
        Assert.Equal(4, _ledger.Lease(Ask("b"), _now.AddSeconds(3)).Granted.Slots);
    }

    [Fact]
    public void SharesInForce_NeverAddUpToMoreThanTheLimit_WhateverTheOrderOfRequests()
    {
        var random = new Random(19);
        var holders = new[] { "a", "b", "c", "d" };
        var slots = holders.ToDictionary(h => h, _ => 0);
        for (var step = 0; step < 5_000; step++)
        {
            _now = _now.AddMilliseconds(random.Next(0, 400));
            var wanted = new LeaseShares(random.Next(4) == 0 ? All : random.NextDouble() * 8, random.Next(4) == 0 ? All : random.NextDouble() * 800, random.Next(4) == 0 ? All : random.Next(0, 9));
            var holder = holders[random.Next(holders.Length)];

            // A holder never has more in flight than the slots it was last granted.
            var grant = _ledger.Lease(Ask(holder, wanted, inFlight: random.Next(0, slots[holder] + 1), release: random.Next(50) == 0), _now);
            slots[holder] = (int)grant.Granted.Slots!.Value;
            var granted = _ledger.Granted;
            Assert.InRange(granted.RequestsPerSecond!.Value, 0, 10 + 1e-9);
            Assert.InRange(granted.TokensPerSecond!.Value, 0, 1000 + 1e-6);
            Assert.InRange(granted.Slots!.Value, 0, 8);
        }
    }

    [Fact]
    public void ALeaseNotRenewed_EndsAfterItsLifetime_AndADeadHoldersAtOnce()
    {
        _ledger.Lease(Ask("a"), _now);
        _ledger.Lease(Ask("b"), _now);
        Assert.Equal(0, _ledger.Lease(Ask("b"), _now + EndpointLedger.LeaseLifetime).Granted.RequestsPerSecond);
        Assert.Equal(10, _ledger.Lease(Ask("b"), _now + EndpointLedger.LeaseLifetime + TimeSpan.FromSeconds(1)).Granted.RequestsPerSecond);
        Assert.Equal(["b"], _ledger.Holders);

        _ledger.Lease(Ask("c"), _now.AddSeconds(40));
        _ledger.Forget("b");
        Assert.Equal(10, _ledger.Lease(Ask("c"), _now.AddSeconds(40)).Granted.RequestsPerSecond);
    }

    [Fact]
    public void Release_FreesTheShareAtOnce()
    {
        _ledger.Lease(Ask("a"), _now);
        _ledger.Lease(Ask("a", release: true), _now);
        Assert.Empty(_ledger.Holders);
        Assert.Equal(10, _ledger.Lease(Ask("b"), _now).Granted.RequestsPerSecond);
    }

    [Fact]
    public void AfterAMove_NoOneGetsMoreThanItHolds_UntilEveryFormerHolderReported()
    {
        _ledger.Recover(["a", "b"], _now);
        Assert.True(_ledger.IsRecovering(_now));
        Assert.Equal(new LeaseShares(3, 300, 2), _ledger.Lease(Ask("a", held: new LeaseShares(3, 300, 2)), _now).Granted);
        Assert.Equal(new LeaseShares(0, 0, 0), _ledger.Lease(Ask("c"), _now).Granted);

        // b reports (and gets its fair third, less than it held): everyone is known, and what the others leave is free again.
        Assert.Equal(10 / 3.0, _ledger.Lease(Ask("b", held: new LeaseShares(5, 500, 4)), _now).Granted.RequestsPerSecond!.Value, 9);
        Assert.False(_ledger.IsRecovering(_now));
        Assert.Equal(10 / 3.0, _ledger.Lease(Ask("c"), _now).Granted.RequestsPerSecond!.Value, 9);
    }

    [Fact]
    public void AfterAMove_AFormerHolderThatNeverReports_HoldsNothingOnceItsLeaseMustHaveRunOut()
    {
        _ledger.Recover(["gone"], _now);
        Assert.Equal(0, _ledger.Lease(Ask("a"), _now.AddSeconds(10)).Granted.RequestsPerSecond);
        Assert.Equal(10, _ledger.Lease(Ask("a"), _now + EndpointLedger.LeaseLifetime).Granted.RequestsPerSecond);
    }

    [Fact]
    public void EvidenceFromDifferentHolders_OpensTheCircuitForAll_AndOneProbeClosesIt()
    {
        _ledger.Lease(Ask("a", used: new EndpointUsage(4, 0, 0, 0, 0, 4)), _now);
        var b = _ledger.Lease(Ask("b", used: new EndpointUsage(4, 0, 0, 0, 0, 4)), _now);
        Assert.Equal(CircuitState.Open, b.Circuit);
        Assert.Equal(TimeSpan.FromSeconds(5), b.OpenFor);
        Assert.Equal(CircuitState.Open, _ledger.Lease(Ask("c"), _now.AddSeconds(1)).Circuit);

        var later = _now.AddSeconds(5);
        Assert.True(_ledger.Lease(Ask("a", probe: ProbeReport.Wanted), later).Probe);
        var c = _ledger.Lease(Ask("c", probe: ProbeReport.Wanted), later);
        Assert.False(c.Probe);
        Assert.Equal(CircuitState.HalfOpen, c.Circuit);
        Assert.Equal(CircuitState.Closed, _ledger.Lease(Ask("a", used: new EndpointUsage(1, 10, 8, 2, 1, 0), probe: ProbeReport.Succeeded), later).Circuit);
    }

    [Fact]
    public void UsedAndCost_AddUpWhatHoldersReport_AtTheirPrice()
    {
        _ledger.Lease(Ask("a", used: new EndpointUsage(3, 1_500_000, 1_000_000, 500_000, 3, 0)), _now);
        _ledger.Lease(Ask("b", used: new EndpointUsage(1, 300, 250_000, 0, 1, 0)), _now);
        Assert.Equal(new EndpointUsage(4, 1_500_300, 1_250_000, 500_000, 4, 0), _ledger.Used);

        // 1.25 M input tokens at 2 and 0.5 M output tokens at 8 per million.
        Assert.Equal(6.5, _ledger.Cost, 9);
    }
}
