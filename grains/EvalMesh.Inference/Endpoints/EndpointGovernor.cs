using EvalMesh.Abstractions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EvalMesh.Inference.Endpoints;

/// <summary>
/// One process's side of an OpenAI-compatible endpoint's limits and circuit. Before each attempt a request takes a
/// concurrency slot (<see cref="AimdConcurrency"/>, under the slots its lease grants), then the circuit's leave, one
/// request and its estimated tokens from the <see cref="TokenBucket"/>s its lease refills; afterwards it says how the
/// attempt went (<see cref="EndpointPermit"/>). The hot path makes no call: about once a second while the endpoint is
/// in use, and at once after a failure or to ask for the half-open circuit's probe, the governor renews its lease with
/// its <see cref="IEndpointAuthority"/>, reporting what it used and saw (see the lease half of this class). After a
/// failure, new attempts wait for that report's answer, so that one process's evidence of an outage stops it, and,
/// through the authority, every other, before it sends more.
/// </summary>
public sealed partial class EndpointGovernor : IAsyncDisposable
{
    private readonly string _holder;
    private readonly IEndpointAuthority _authority;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly AimdConcurrency _concurrency;
    private readonly TokenBucket _requests;
    private readonly TokenBucket _tokens;
    private readonly Lock _gate = new();
    private OpenAiEndpointOptions _options;
    private TaskCompletionSource _changed = NewSignal();

    // The circuit as the last answer gave it, and this process's part in its probe.
    private CircuitState _circuit = CircuitState.Closed;
    private long _circuitAt;
    private TimeSpan _openFor;
    private bool _probeGranted;
    private bool _probing;

    // Failures not yet answered by the authority: new attempts wait for its verdict.
    private long _failures;
    private long _failuresSettled;

    /// <summary>A governor that renews its lease as <paramref name="holder"/> (the silo) with <paramref name="authority"/>.</summary>
    public EndpointGovernor(string holder, IEndpointAuthority authority, OpenAiEndpointOptions options, TimeProvider? time = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(holder);
        ArgumentNullException.ThrowIfNull(authority);
        ArgumentNullException.ThrowIfNull(options);
        _holder = holder;
        _authority = authority;
        _options = options;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _requests = new TokenBucket(_time);
        _tokens = new TokenBucket(_time);
        _concurrency = new AimdConcurrency(Math.Max(1, options.MaxConcurrency), TimeSpan.FromSeconds(1), _time);
        _concurrency.LimitChanged += limit => EndpointMetrics.ConcurrencyLimitIs(_options.Name, limit);
        EndpointMetrics.ConcurrencyLimitIs(options.Name, _concurrency.Limit);
        _reportedAt = _lastActivity = _time.GetTimestamp();
    }

    /// <summary>The most requests this process sends at once now: adapted to 429s, under the slots it leases.</summary>
    public int ConcurrencyLimit => _concurrency.Limit;

    /// <summary>The circuit as this process last heard it.</summary>
    public CircuitState Circuit
    {
        get
        {
            lock (_gate)
            {
                return CircuitAt(_time.GetTimestamp());
            }
        }
    }

    /// <summary>Takes new settings (the limits and price of the latest run that uses the endpoint); they count from the next renewal.</summary>
    public void Configure(OpenAiEndpointOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        lock (_gate)
        {
            _options = options;
        }

        _concurrency.Maximum = Math.Max(1, options.MaxConcurrency);
    }

    /// <summary>
    /// Waits until an attempt may go: a slot, the circuit's leave, and (where limited) a request and
    /// <paramref name="estimatedTokens"/> from this process's share. Dispose the permit when the attempt is done.
    /// </summary>
    public async ValueTask<EndpointPermit> AcquireAsync(double estimatedTokens, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            _acquiring++;
            Touch();
            KeepRenewing();
        }

        try
        {
            if (_concurrency.AtCeiling)
            {
                lock (_gate)
                {
                    _slotsShort = true;
                    RenewSoon();
                }
            }

            var slot = await _concurrency.AcquireAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                while (true)
                {
                    Task changed;
                    (TimeSpan Wait, bool ForShare) verdict;
                    lock (_gate)
                    {
                        changed = _changed.Task;
                        verdict = Admit(estimatedTokens, out var probe);
                        if (verdict.Wait == TimeSpan.Zero)
                        {
                            _peakInFlight = Math.Max(_peakInFlight, _concurrency.InFlight);
                            return new EndpointPermit(this, slot, estimatedTokens, probe);
                        }

                        _parked += verdict.ForShare ? 1 : 0;
                    }

                    try
                    {
                        await WaitAsync(changed, verdict.Wait, cancellationToken).ConfigureAwait(false);
                    }
                    finally
                    {
                        lock (_gate)
                        {
                            _parked -= verdict.ForShare ? 1 : 0;
                        }
                    }
                }
            }
            catch
            {
                slot.Dispose();
                throw;
            }
        }
        finally
        {
            lock (_gate)
            {
                _acquiring--;
            }
        }
    }

    // Under the lock: zero when the attempt may go now (its share taken), else how long to wait before looking again,
    // and whether it waits for this process's share of a limit (which makes the process ask for more).
    private (TimeSpan Wait, bool ForShare) Admit(double tokens, out bool probe)
    {
        probe = false;
        var now = _time.GetTimestamp();
        if (_failures > _failuresSettled)
        {
            RenewSoon();
            return (EndpointLedger.RenewEvery, false);
        }

        switch (CircuitAt(now))
        {
            case CircuitState.Open:
                return (Bounded(_openFor - _time.GetElapsedTime(_circuitAt, now)), false);
            case CircuitState.HalfOpen when !_probeGranted || _probing:
                _wantProbe |= !_probing;
                RenewSoon();
                return (EndpointLedger.RenewEvery, false);
            case CircuitState.HalfOpen:
                probe = true;
                break;
        }

        if (_options.RateLimit is not null && !LeaseValid(now))
        {
            _requests.Expire();
            _tokens.Expire();
            RenewSoon();
            return (EndpointLedger.RenewEvery, true);
        }

        var limitsRequests = _granted.RequestsPerSecond is not null;
        var limitsTokens = _granted.TokensPerSecond is not null;
        var requestWait = limitsRequests ? Bounded(_requests.WaitFor(1)) : TimeSpan.Zero;
        var tokenWait = limitsTokens ? Bounded(_tokens.WaitFor(tokens)) : TimeSpan.Zero;
        _requestsShort |= requestWait > TimeSpan.Zero;
        _tokensShort |= tokenWait > TimeSpan.Zero;
        if (requestWait > TimeSpan.Zero || tokenWait > TimeSpan.Zero)
        {
            return (requestWait > tokenWait ? requestWait : tokenWait, true);
        }

        if (limitsRequests)
        {
            _requests.TryTake(1);
        }

        if (limitsTokens)
        {
            _tokens.TryTake(tokens);
        }

        _probing |= probe;
        _sent++;
        Touch();
        return (TimeSpan.Zero, false);
    }

    /// <summary>An attempt's outcome (see <see cref="EndpointPermit"/>).</summary>
    internal void Settle(EndpointPermit permit, EndpointProblem? problem, long? inputTokens, long? outputTokens)
    {
        // A 429 is the rate limit speaking and a rejected request (another 4xx) a mistake in it: the endpoint is up.
        var down = problem is EndpointProblem.ServerError or EndpointProblem.Timeout or EndpointProblem.Unreachable or EndpointProblem.BadResponse;
        lock (_gate)
        {
            Touch();
            var used = inputTokens + outputTokens;
            if (used is { } actual && _granted.TokensPerSecond is not null)
            {
                _tokens.Settle(permit.EstimatedTokens, actual);
            }

            _charged += used ?? (long)Math.Ceiling(permit.EstimatedTokens);
            _input += inputTokens ?? 0;
            _output += outputTokens ?? 0;
            _successes += down ? 0 : 1;
            if (down)
            {
                _failureCount++;
            }

            if (permit.IsProbe)
            {
                _probing = false;
                _probeGranted = false;
                _probeReport = down ? ProbeReport.Failed : ProbeReport.Succeeded;
            }

            if (down || permit.IsProbe)
            {
                _failures++;
                RenewSoon();
            }
        }

        if (problem == EndpointProblem.RateLimited)
        {
            _concurrency.RateLimited();
        }
        else if (problem is null)
        {
            _concurrency.Succeeded();
        }
    }

    /// <summary>A permit given up before its attempt's outcome: its probe stays this process's to use.</summary>
    internal void Abandon(EndpointPermit permit)
    {
        lock (_gate)
        {
            _probing &= !permit.IsProbe;
            Touch();
            Signal();
        }
    }

    private CircuitState CircuitAt(long now) =>
        _circuit == CircuitState.Open && _time.GetElapsedTime(_circuitAt, now) >= _openFor ? CircuitState.HalfOpen : _circuit;

    private void Touch() => _lastActivity = _time.GetTimestamp();

    // Wakes whoever waits for the state to change.
    private void Signal() => Interlocked.Exchange(ref _changed, NewSignal()).TrySetResult();

    // A wait no longer than a renewal period (an infinite one, at a rate of 0, is looked at again after the renewal).
    private static TimeSpan Bounded(TimeSpan wait) =>
        wait < TimeSpan.Zero || wait > EndpointLedger.RenewEvery ? EndpointLedger.RenewEvery : wait;

    private async Task WaitAsync(Task signal, TimeSpan wait, CancellationToken cancellationToken)
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        await Task.WhenAny(signal, Task.Delay(wait, _time, cancel.Token)).ConfigureAwait(false);
        await cancel.CancelAsync().ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Endpoint {Endpoint}: could not renew this silo's lease; keeping the one it holds until it runs out")]
    private static partial void LogRenewalFailed(ILogger logger, Exception exception, string endpoint);
}
