namespace EvalMesh.Inference.Endpoints;

/// <summary>
/// A silo's share of one of an endpoint's rate limits: a token bucket refilled at the rate its lease grants, holding at
/// most <see cref="Burst"/> worth of that rate, so that whatever a silo saved up it can spend only that fast. A take
/// may overdraw it (a request bigger than the bucket waits for a full bucket and leaves it in debt), never below what
/// the next refills repay. A rate lowered by a renewal counts from when the silo asked, not from when the answer came:
/// between the two the authority already counts the lower rate. Not thread-safe; its owner locks.
/// </summary>
public sealed class TokenBucket(TimeProvider time)
{
    /// <summary>How long a full bucket lasts at its rate: what a silo may save up.</summary>
    public static readonly TimeSpan Burst = TimeSpan.FromSeconds(1);

    private double _rate;
    private double _capacity;
    private double _level;
    private long _at = time.GetTimestamp();

    /// <summary>The refill rate in force, per second.</summary>
    public double Rate => _rate;

    /// <summary>The tokens in the bucket now (negative while in debt).</summary>
    public double Level
    {
        get
        {
            Refill();
            return _level;
        }
    }

    /// <summary>
    /// Sets the rate a lease grants. A lower rate applies from <paramref name="askedAt"/> (a timestamp of the bucket's
    /// <see cref="TimeProvider"/>), the moment the silo asked; a higher one from now.
    /// </summary>
    public void Grant(double rate, long askedAt)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rate);
        Refill();
        if (rate < _rate)
        {
            _level -= (_rate - rate) * Math.Max(0, time.GetElapsedTime(askedAt, _at).TotalSeconds);
        }

        _rate = rate;
        _capacity = rate * Burst.TotalSeconds;
        _level = Math.Min(_level, _capacity);
    }

    /// <summary>The lease ran out: nothing more accrues, and what was saved up is gone (a debt stays).</summary>
    public void Expire() => Grant(0, time.GetTimestamp());

    /// <summary>Takes <paramref name="amount"/> if the bucket holds it, or is full when it is bigger than the bucket.</summary>
    public bool TryTake(double amount)
    {
        Refill();
        if (_rate <= 0 || _level < Math.Min(amount, _capacity))
        {
            return false;
        }

        _level -= amount;
        return true;
    }

    /// <summary>How long until <see cref="TryTake"/> of <paramref name="amount"/> can succeed; infinite at a rate of 0.</summary>
    public TimeSpan WaitFor(double amount)
    {
        Refill();
        if (_rate <= 0)
        {
            return Timeout.InfiniteTimeSpan;
        }

        // Rounded up to a whole tick: a shortfall of a rounding error must still move a clock on, or a waiter spins.
        var missing = Math.Min(amount, _capacity) - _level;
        return missing <= 0 ? TimeSpan.Zero : TimeSpan.FromTicks(Math.Max(1, (long)Math.Ceiling(missing / _rate * TimeSpan.TicksPerSecond)));
    }

    /// <summary>Settles a take that was an estimate: the tokens not used go back (up to a full bucket), more used are owed.</summary>
    public void Settle(double estimated, double actual)
    {
        Refill();
        _level = Math.Min(_capacity, _level + estimated - actual);
    }

    private void Refill()
    {
        var now = time.GetTimestamp();
        _level = Math.Min(_capacity, _level + (_rate * time.GetElapsedTime(_at, now).TotalSeconds));
        _at = now;
    }
}
