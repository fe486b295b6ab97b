using EvalMesh.Abstractions;

namespace EvalMesh.Inference.Endpoints;

/// <summary>
/// The lease half of <see cref="EndpointGovernor"/>: one loop per process and endpoint renews the lease while the
/// endpoint is in use (and asks to end it once it has been idle a few seconds), reporting what was used, how attempts
/// went and what this process could use (a share it had to wait for counts as "as much as there is"). A renewal that
/// fails leaves the lease in force until it runs out; what it should have reported goes with the next one.
/// </summary>
public sealed partial class EndpointGovernor
{
    private static readonly TimeSpan IdleAfter = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(5);

    // Demand counts only what a process could use, with room to grow: a quarter more than it used.
    private const double Headroom = 1.25;

    private readonly CancellationTokenSource _stop = new();
    private TaskCompletionSource _renewNow = NewSignal();
    private Task? _loop;

    // The lease in force: its shares, from when it was asked for, and for how long.
    private LeaseShares _granted = LeaseShares.Unlimited;
    private long _leaseAskedAt;
    private TimeSpan _validFor;

    // What the next renewal reports.
    private long _sent;
    private long _charged;
    private long _input;
    private long _output;
    private int _successes;
    private int _failureCount;
    private ProbeReport _probeReport;
    private bool _wantProbe;
    private bool _requestsShort;
    private bool _tokensShort;
    private bool _slotsShort;
    private int _peakInFlight;
    private int _parked;
    private int _acquiring;
    private long _reportedAt;
    private long _lastActivity;

    /// <summary>Stops renewing; the lease runs out on its own.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        Task? loop;
        lock (_gate)
        {
            loop = _loop;
        }

        if (loop is not null)
        {
            await loop.ConfigureAwait(false);
        }

        _stop.Dispose();
    }

    // Under the lock: renew now (starting the loop if it is not running).
    private void RenewSoon()
    {
        _renewNow.TrySetResult();
        KeepRenewing();
    }

    // Under the lock: starts the loop if it is not running.
    private void KeepRenewing()
    {
        if (_loop is null && !_stop.IsCancellationRequested)
        {
            _loop = Task.Run(RenewLoopAsync);
        }
    }

    private bool LeaseValid(long now) => _validFor > TimeSpan.Zero && _time.GetElapsedTime(_leaseAskedAt, now) < _validFor;

    private async Task RenewLoopAsync()
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            LeaseRequest request;
            long askedAt;
            long failures;
            lock (_gate)
            {
                _renewNow = NewSignal();
                askedAt = _time.GetTimestamp();
                request = TakeReport(askedAt, release: IsIdle(askedAt));
                failures = _failures;
            }

            LeaseGrant? grant = null;
            try
            {
                grant = await _authority.LeaseAsync(request, token).WaitAsync(AskTimeout, _time, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogRenewalFailed(_logger, ex, request.Endpoint);
            }

            Task renewNow;
            TimeSpan renewAfter;
            lock (_gate)
            {
                if (grant is null)
                {
                    PutBack(request);
                }
                else if (!request.Release)
                {
                    Apply(grant, askedAt);
                }

                // Waiting for a verdict that did not come would stop every attempt: without an answer, go on as before.
                _failuresSettled = Math.Max(_failuresSettled, failures);
                Signal();
                if (request.Release && grant is not null && _lastActivity <= askedAt)
                {
                    _loop = null;
                    return;
                }

                renewAfter = grant?.RenewAfter ?? EndpointLedger.RenewEvery;
                renewNow = _renewNow.Task;
            }

            try
            {
                await WaitAsync(renewNow, renewAfter, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    // Under the lock: nothing in flight or waiting, nothing to report, and no attempt for a while.
    private bool IsIdle(long now) =>
        _acquiring == 0 && _concurrency.InFlight == 0 && _sent == 0 && _successes + _failureCount == 0 && _probeReport == ProbeReport.None
        && _time.GetElapsedTime(_lastActivity, now) >= IdleAfter;

    // Under the lock: the request that reports everything since the last one, which is then forgotten.
    private LeaseRequest TakeReport(long now, bool release)
    {
        var seconds = Math.Max(0.001, _time.GetElapsedTime(_reportedAt, now).TotalSeconds);
        var maximum = Math.Max(1, _options.MaxConcurrency);
        var hungry = _parked > 0 || (_options.RateLimit is not null && !LeaseValid(now) && _acquiring > 0);
        var wanted = new LeaseShares(
            _requestsShort || hungry ? double.PositiveInfinity : Headroom * _sent / seconds,
            _tokensShort || hungry ? double.PositiveInfinity : Headroom * _charged / seconds,
            _slotsShort || _concurrency.AtCeiling ? maximum : Math.Min(maximum, _peakInFlight + 1));
        var held = LeaseValid(now) ? _granted with { Slots = _concurrency.Ceiling } : LeaseShares.Nothing;
        var probe = _probeReport != ProbeReport.None ? _probeReport : _wantProbe ? ProbeReport.Wanted : ProbeReport.None;
        var request = new LeaseRequest(
            _holder,
            _options.Name,
            _options.RateLimit,
            _options.Price,
            held,
            wanted,
            new EndpointUsage(_sent, _charged, _input, _output, _successes, _failureCount),
            _concurrency.InFlight,
            probe,
            _options.BreakFor,
            _options.AttemptTimeout + EndpointLedger.RenewEvery,
            release);
        (_sent, _charged, _input, _output, _successes, _failureCount) = (0, 0, 0, 0, 0, 0);
        (_probeReport, _wantProbe, _requestsShort, _tokensShort, _slotsShort) = (ProbeReport.None, false, false, false, false);
        _peakInFlight = _concurrency.InFlight;
        _reportedAt = now;
        if (release)
        {
            // From now on this process holds nothing: an attempt that comes meanwhile asks for a new lease.
            EndLease();
        }

        return request;
    }

    // Under the lock: a report that did not get through goes with the next one.
    private void PutBack(LeaseRequest request)
    {
        var used = request.Used;
        (_sent, _charged, _input, _output) = (_sent + used.Requests, _charged + used.Tokens, _input + used.InputTokens, _output + used.OutputTokens);
        (_successes, _failureCount) = (_successes + used.Successes, _failureCount + used.Failures);
        if (_probeReport == ProbeReport.None && request.Probe is ProbeReport.Succeeded or ProbeReport.Failed)
        {
            _probeReport = request.Probe;
        }
    }

    // Under the lock: the answer's shares apply (a lower rate from when this process asked), and its circuit.
    private void Apply(LeaseGrant grant, long askedAt)
    {
        _granted = grant.Granted;
        _leaseAskedAt = askedAt;
        _validFor = grant.ValidFor;
        _requests.Grant(grant.Granted.RequestsPerSecond ?? 0, askedAt);
        _tokens.Grant(grant.Granted.TokensPerSecond ?? 0, askedAt);
        _concurrency.Ceiling = grant.Granted.Slots is { } slots ? (int)slots : null;
        _circuit = grant.Circuit;
        _circuitAt = _time.GetTimestamp();
        _openFor = grant.OpenFor;
        _probeGranted = grant.Probe;
    }

    // Under the lock: the authority let the lease go; the next attempt asks for a new one.
    private void EndLease()
    {
        _validFor = TimeSpan.Zero;
        _requests.Expire();
        _tokens.Expire();
        if (_granted.Slots is not null)
        {
            _concurrency.Ceiling = 0;
        }
    }
}
