using EvalMesh.Abstractions;

namespace EvalMesh.Inference.Endpoints;

/// <summary>
/// An endpoint's circuit as its authority keeps it, from the evidence every silo reports: when at least
/// <see cref="MinimumThroughput"/> attempts of the last <see cref="Sampling"/> were reported and half of them failed
/// (429s aside: they are the rate limit speaking, not an outage), it opens for the break; after the break it is
/// half-open, and exactly one holder at a time is granted the probe (another may probe once the probe's own timeout
/// has passed without an answer, or its holder is gone). The probe's success closes it, its failure opens it again.
/// Pure and stateful, like <see cref="TokenBucket"/>; time is passed in.
/// </summary>
public sealed class EndpointCircuit
{
    /// <summary>The fewest attempts in the sampling window that can open the circuit.</summary>
    public const int MinimumThroughput = 8;

    /// <summary>The share of failed attempts that opens it.</summary>
    public const double FailureRatio = 0.5;

    /// <summary>How far back the evidence counts.</summary>
    public static readonly TimeSpan Sampling = TimeSpan.FromSeconds(10);

    private readonly Queue<(DateTimeOffset At, int Successes, int Failures)> _evidence = new();
    private CircuitState _state = CircuitState.Closed;
    private DateTimeOffset _openUntil;
    private (string Holder, DateTimeOffset Until)? _probe;

    /// <summary>How many times it opened.</summary>
    public long Opened { get; private set; }

    /// <summary>The state at <paramref name="now"/>: an open circuit whose break is over is half-open.</summary>
    public CircuitState StateAt(DateTimeOffset now) => _state == CircuitState.Open && now >= _openUntil ? CircuitState.HalfOpen : _state;

    /// <summary>How much longer the break lasts (zero unless open).</summary>
    public TimeSpan OpenFor(DateTimeOffset now) => StateAt(now) == CircuitState.Open ? _openUntil - now : TimeSpan.Zero;

    /// <summary>Adds a holder's evidence; opens the circuit when the window's failures reach the ratio.</summary>
    public void Record(int successes, int failures, TimeSpan breakFor, DateTimeOffset now)
    {
        if (successes + failures == 0)
        {
            return;
        }

        _evidence.Enqueue((now, successes, failures));
        while (_evidence.Peek().At < now - Sampling)
        {
            _evidence.Dequeue();
        }

        var failed = _evidence.Sum(e => e.Failures);
        var total = failed + _evidence.Sum(e => e.Successes);
        if (StateAt(now) == CircuitState.Closed && total >= MinimumThroughput && failed >= FailureRatio * total)
        {
            Open(breakFor, now);
        }
    }

    /// <summary>Asks for the half-open circuit's probe; true when <paramref name="holder"/> has it.</summary>
    public bool TryProbe(string holder, TimeSpan timeout, DateTimeOffset now)
    {
        if (StateAt(now) != CircuitState.HalfOpen)
        {
            return false;
        }

        if (_probe is { } probe && probe.Holder != holder && now < probe.Until)
        {
            return false;
        }

        _state = CircuitState.HalfOpen;
        _probe = (holder, now + timeout);
        return true;
    }

    /// <summary>Whether <paramref name="holder"/> holds the probe now.</summary>
    public bool IsProbing(string holder, DateTimeOffset now) => _probe is { } probe && probe.Holder == holder && now < probe.Until;

    /// <summary>The probe's answer: success closes the circuit (and forgets the evidence), failure opens it again.</summary>
    public void ProbeEnded(string holder, bool succeeded, TimeSpan breakFor, DateTimeOffset now)
    {
        if (_probe?.Holder != holder || StateAt(now) != CircuitState.HalfOpen)
        {
            return;
        }

        _probe = null;
        if (succeeded)
        {
            _state = CircuitState.Closed;
            _evidence.Clear();
        }
        else
        {
            Open(breakFor, now);
        }
    }

    /// <summary>A holder is gone: a probe it held is free for another.</summary>
    public void Forget(string holder)
    {
        if (_probe?.Holder == holder)
        {
            _probe = null;
        }
    }

    private void Open(TimeSpan breakFor, DateTimeOffset now)
    {
        _state = CircuitState.Open;
        _openUntil = now + breakFor;
        _probe = null;
        _evidence.Clear();
        Opened++;
    }
}
