using System.Globalization;
using EvalMesh.Abstractions;
using EvalMesh.Contracts;
using EvalMesh.Inference.Endpoints;
using Microsoft.Extensions.Time.Testing;

namespace EvalMesh.Inference.Tests;

/// <summary>
/// The lease design on a fake clock, without a cluster: three silos' <see cref="LeaseHolder"/>s renew with one
/// <see cref="EndpointLedger"/> as the governors and the endpoint's grain do (20 ms there and back), always have work,
/// and send whenever their share lets them, for five minutes at a budget of 600 requests a minute. Any 60 s window
/// must see at most the budget and one lease's worth (the budget's rate for one burst, 10 requests), and the budget
/// must be at least 90% used, also when a silo dies (membership declares it dead 15 s later) and when the silo
/// holding the authority dies (its successor starts 15 s later, knowing only who held leases).
/// </summary>
public sealed class LeaseSimulationTests(ITestOutputHelper output)
{
    private const int Budget = 600;
    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(5);
    private static readonly TimeSpan Run = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan Loss = TimeSpan.FromSeconds(100);
    private static readonly TimeSpan Detection = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan Trip = TimeSpan.FromMilliseconds(20);

    [Theory]
    [InlineData("no loss")]
    [InlineData("a silo dies")]
    [InlineData("the authority's silo dies")]
    public void ThreeBusySilos_KeepEveryMinuteWithinTheBudgetAndOneLease_AndTheBudgetBusy(string loss)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));
        var start = time.GetUtcNow();
        var options = new OpenAiEndpointOptions("gpt", new Uri("http://127.0.0.1/v1"), "gpt", RateLimit: new RateLimit(Budget, null, null));
        var silos = Enumerable.Range(0, 3).Select(i => new Silo(new LeaseHolder($"silo-{i}", options, time))).ToList();
        var ledger = new EndpointLedger();
        EndpointLedger? authority = ledger;
        var sent = new List<TimeSpan>();
        for (var now = TimeSpan.Zero; now < Run; now += Step)
        {
            if (now == Loss && loss != "no loss")
            {
                silos[2].Dead = true;
                authority = loss == "a silo dies" ? authority : null;
            }

            if (now == Loss + Detection && loss != "no loss")
            {
                // Membership declares the silo dead: the authority forgets its lease, or its successor starts.
                authority?.Forget("silo-2");
                if (authority is null)
                {
                    authority = new EndpointLedger();
                    authority.Recover(ledger.Holders.Where(h => h != "silo-2"), time.GetUtcNow());
                }
            }

            foreach (var silo in silos.Where(s => !s.Dead))
            {
                silo.Renew(now, time, authority);
                while (silo.Holder.Admit(1, 0) is var admission)
                {
                    if (!admission.Go)
                    {
                        silo.Hungry |= admission.ForShare;
                        silo.RenewNow |= admission.RenewNow;
                        break;
                    }

                    sent.Add(now);
                    silo.Holder.Settle(1, admission.Probe, problem: null, inputTokens: 10, outputTokens: 2);
                }
            }

            time.Advance(Step);
        }

        var most = MostInAnyMinute(sent);
        var busy = sent.Count / (Budget * Run.TotalMinutes);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{loss}: {sent.Count} requests in {Run.TotalSeconds:0} s; most in any 60 s: {most} (budget {Budget} + one lease's worth {Budget / 60}); busy {busy:P1}"));
        Assert.InRange(most, Budget - (Budget / 60), Budget + (Budget / 60));
        Assert.True(busy >= 0.9, $"the budget was {busy:P1} busy");
    }

    // The most requests in any 60 s window (by two pointers over the sorted times).
    private static int MostInAnyMinute(List<TimeSpan> sent)
    {
        var most = 0;
        for (int first = 0, last = 0; last < sent.Count; last++)
        {
            while (sent[last] - sent[first] >= TimeSpan.FromMinutes(1))
            {
                first++;
            }

            most = Math.Max(most, last - first + 1);
        }

        return most;
    }

    // A silo's holder and its renewals: asked at one step, booked by the authority 10 ms later, answered 10 ms after that.
    private sealed class Silo(LeaseHolder holder)
    {
        private (LeaseRequest Request, long AskedAt, TimeSpan At, LeaseGrant? Grant, bool Booked)? _pending;
        private TimeSpan _next;

        public LeaseHolder Holder => holder;

        public bool Dead { get; set; }

        public bool Hungry { get; set; }

        public bool RenewNow { get; set; }

        public void Renew(TimeSpan now, TimeProvider time, EndpointLedger? authority)
        {
            if (_pending is { } pending)
            {
                if (!pending.Booked && now >= pending.At + (Trip / 2))
                {
                    _pending = pending with { Grant = authority?.Lease(pending.Request, time.GetUtcNow()), Booked = true };
                }

                if (now >= pending.At + Trip)
                {
                    holder.Answered(pending.Request, _pending.Value.Grant, pending.AskedAt);
                    _next = now + (_pending.Value.Grant?.RenewAfter ?? EndpointLedger.RenewEvery);
                    _pending = null;
                }

                return;
            }

            if (now >= _next || RenewNow)
            {
                var askedAt = time.GetTimestamp();
                _pending = (holder.TakeReport(askedAt, inFlight: 0, Hungry, release: false), askedAt, now, null, false);
                (Hungry, RenewNow) = (false, false);
            }
        }
    }
}
