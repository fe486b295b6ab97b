using EvalMesh.Abstractions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EvalMesh.Inference.Endpoints;

/// <summary>
/// One process's side of an OpenAI-compatible endpoint's limits and circuit. Before each attempt a request takes a
/// concurrency slot (<see cref="AimdConcurrency"/>, under the slots its lease grants), then the circuit's leave and
/// its share of the rate limits (<see cref="LeaseHolder"/>); afterwards it says how the attempt went
/// (<see cref="EndpointPermit"/>). The hot path makes no call: one loop renews the lease with the
/// <see cref="IEndpointAuthority"/> about once a second while the endpoint is in use, and at once after a failure or to
/// ask for the half-open circuit's probe, and gives it back after a few idle seconds. After a failure, new attempts wait
/// for that report's answer, so that one process's evidence of an outage stops it, and through the authority every
/// other, before it sends more.
/// </summary>
public sealed partial class EndpointGovernor : IAsyncDisposable
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(5);

    private readonly IEndpointAuthority _authority;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly AimdConcurrency _concurrency;
    private readonly LeaseHolder _lease;
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private TaskCompletionSource _changed = NewSignal();
    private TaskCompletionSource _renewNow = NewSignal();
    private Task? _loop;
    private int _acquiring;
    private int _parked;

    /// <summary>A governor that renews its lease as <paramref name="holder"/> (the silo) with <paramref name="authority"/>.</summary>
    public EndpointGovernor(string holder, IEndpointAuthority authority, OpenAiEndpointOptions options, TimeProvider? time = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(holder);
        ArgumentNullException.ThrowIfNull(authority);
        ArgumentNullException.ThrowIfNull(options);
        _authority = authority;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _lease = new LeaseHolder(holder, options, _time);
        _concurrency = new AimdConcurrency(Math.Max(1, options.MaxConcurrency), TimeSpan.FromSeconds(1), _time);
        _concurrency.LimitChanged += limit => EndpointMetrics.ConcurrencyLimitIs(options.Name, limit);
        EndpointMetrics.ConcurrencyLimitIs(options.Name, _concurrency.Limit);
    }

    /// <summary>The most requests this process sends at once now as adapted to 429s (and never more than the slots it leases).</summary>
    public int ConcurrencyLimit => _concurrency.Limit;

    /// <summary>Takes new settings (the limits and price of the latest run that uses the endpoint); they count from the next renewal.</summary>
    public void Configure(OpenAiEndpointOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        lock (_gate)
        {
            _lease.Options = options;
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
            _lease.Touch();
            KeepRenewing();
            if (_concurrency.AtCeiling)
            {
                _lease.SlotsShort();
                RenewSoon();
            }
        }

        try
        {
            var slot = await _concurrency.AcquireAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                return await AdmitAsync(slot, estimatedTokens, cancellationToken).ConfigureAwait(false);
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

    private async Task<EndpointPermit> AdmitAsync(IDisposable slot, double estimatedTokens, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task changed;
            Admission admission;
            lock (_gate)
            {
                changed = _changed.Task;
                admission = _lease.Admit(estimatedTokens, _concurrency.InFlight - 1);
                if (admission.RenewNow)
                {
                    RenewSoon();
                }

                if (admission.Go)
                {
                    return new EndpointPermit(this, slot, estimatedTokens, admission.Probe);
                }

                _parked += admission.ForShare ? 1 : 0;
            }

            try
            {
                await WaitAsync(changed, admission.Wait, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                lock (_gate)
                {
                    _parked -= admission.ForShare ? 1 : 0;
                }
            }
        }
    }

    /// <summary>An attempt's outcome (see <see cref="EndpointPermit"/>).</summary>
    internal void Settle(EndpointPermit permit, EndpointProblem? problem, long? inputTokens, long? outputTokens)
    {
        lock (_gate)
        {
            if (_lease.Settle(permit.EstimatedTokens, permit.IsProbe, problem, inputTokens, outputTokens))
            {
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

    /// <summary>A permit given up before its attempt's outcome.</summary>
    internal void Abandon(EndpointPermit permit)
    {
        lock (_gate)
        {
            _lease.Abandon(permit.IsProbe);
            Signal();
        }
    }

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

    private async Task RenewLoopAsync()
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            LeaseRequest request;
            long askedAt;
            lock (_gate)
            {
                _renewNow = NewSignal();
                askedAt = _time.GetTimestamp();
                var idle = _acquiring == 0 && _concurrency.InFlight == 0 && _lease.IsIdle(askedAt);
                request = _lease.TakeReport(askedAt, _concurrency.InFlight, hungry: _parked > 0, release: idle);
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
                _lease.Answered(request, grant, askedAt);
                _concurrency.Ceiling = _lease.Ceiling;
                Signal();
                if (request.Release && grant is not null && _lease.LastActivity <= askedAt)
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

    // Under the lock: wakes whoever waits for the state to change.
    private void Signal()
    {
        var changed = _changed;
        _changed = NewSignal();
        changed.TrySetResult();
    }

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
