using Microsoft.Extensions.Time.Testing;

namespace EvalMesh.Testing;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that knows which of its timers are pending, so that a test can move time on to the
/// next one (a backoff, a Retry-After, a circuit's break) as soon as the code under test waits on it, instead of waiting
/// for real time to pass. Time moves only when the test says so: what is measured on this clock does not depend on
/// how fast the machine is.
/// </summary>
public sealed class FakeClock : FakeTimeProvider
{
    private readonly Lock _gate = new();
    private readonly List<Tracked> _timers = [];

    /// <summary>A clock at an arbitrary fixed start.</summary>
    public FakeClock()
        : base(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero))
    {
    }

    /// <inheritdoc />
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var tracked = new Tracked(this);
        lock (_gate)
        {
            _timers.Add(tracked);
        }

        // The fake timer may fire at once (a zero due time), before it is returned.
        tracked.Schedule(dueTime, period);
        tracked.Inner = base.CreateTimer(s => tracked.Fire(callback, s), state, dueTime, period);
        return tracked;
    }

    /// <summary>
    /// Waits (in real time) until a timer set for less than <paramref name="shorterThan"/> is pending, then moves the
    /// clock to when it is due. Timers set for longer (an attempt's timeout, say) are left alone.
    /// </summary>
    public async Task AdvanceToNextAsync(TimeSpan shorterThan, string what)
    {
        DateTimeOffset? due = null;
        await Poll.UntilAsync(() => Task.FromResult((due = NextDue(shorterThan)) is not null), TimeSpan.FromSeconds(30), what);
        Advance(due!.Value > GetUtcNow() ? due.Value - GetUtcNow() : TimeSpan.Zero);
    }

    /// <summary>
    /// Awaits <paramref name="task"/>, moving the clock on to each timer set for less than <paramref name="shorterThan"/>
    /// once the code under test waits on it; timers set for longer never fire unless the test moves the clock itself.
    /// </summary>
    public async Task<T> RunAsync<T>(Task<T> task, TimeSpan shorterThan)
    {
        while (true)
        {
            DateTimeOffset? due = null;
            await Poll.UntilAsync(() => Task.FromResult(task.IsCompleted || (due = NextDue(shorterThan)) is not null), TimeSpan.FromSeconds(30), "the call to end or wait on the clock");
            if (task.IsCompleted)
            {
                return await task;
            }

            Advance(due!.Value > GetUtcNow() ? due.Value - GetUtcNow() : TimeSpan.Zero);
        }
    }

    private DateTimeOffset? NextDue(TimeSpan shorterThan)
    {
        lock (_gate)
        {
            return _timers.Where(t => t.Due is not null && t.Span < shorterThan).Min(t => t.Due);
        }
    }

    private void Forget(Tracked timer)
    {
        lock (_gate)
        {
            _timers.Remove(timer);
        }
    }

    // Forwards to the fake timer and keeps when it is next due (null once it has fired for good or been disposed).
    private sealed class Tracked(FakeClock clock) : ITimer
    {
        private readonly Lock _gate = new();
        private TimeSpan _period = Timeout.InfiniteTimeSpan;

        public ITimer Inner { get; set; } = null!;

        public DateTimeOffset? Due { get; private set; }

        public TimeSpan Span { get; private set; }

        public void Schedule(TimeSpan dueTime, TimeSpan period)
        {
            lock (_gate)
            {
                Span = dueTime;
                _period = period;
                Due = dueTime == Timeout.InfiniteTimeSpan ? null : clock.GetUtcNow() + dueTime;
            }
        }

        public void Fire(TimerCallback callback, object? state)
        {
            lock (_gate)
            {
                Due = _period == Timeout.InfiniteTimeSpan || _period == TimeSpan.Zero ? null : clock.GetUtcNow() + _period;
                Span = _period;
            }

            callback(state);
        }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            Schedule(dueTime, period);
            return Inner.Change(dueTime, period);
        }

        public void Dispose()
        {
            Inner.Dispose();
            Due = null;
            clock.Forget(this);
        }

        public async ValueTask DisposeAsync()
        {
            await Inner.DisposeAsync();
            Due = null;
            clock.Forget(this);
        }
    }
}
