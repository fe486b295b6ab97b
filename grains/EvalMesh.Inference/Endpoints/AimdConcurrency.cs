namespace EvalMesh.Inference.Endpoints;

/// <summary>
/// How many requests one process sends an endpoint at once, adapted the way TCP adapts its window (additive increase,
/// multiplicative decrease): a 429 halves the limit, at most once per <paramref name="cooldown"/> so that one burst of
/// 429s counts once; each success adds 1/limit, so the limit grows by one per limit's worth of successes, back up to
/// <paramref name="maximum"/>.
/// </summary>
public sealed class AimdConcurrency(int maximum, TimeSpan cooldown, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly LinkedList<TaskCompletionSource> _waiting = [];
    private readonly Lock _gate = new();
    private double _limit = maximum;
    private int _inFlight;
    private long _lastDecrease = long.MinValue;

    /// <summary>The limit in force now.</summary>
    public int Limit
    {
        get
        {
            lock (_gate)
            {
                return (int)_limit;
            }
        }
    }

    /// <summary>Raised with the new limit whenever it changes by a whole request.</summary>
    public event Action<int>? LimitChanged;

    /// <summary>Waits for a slot; dispose the returned lease when the request is done.</summary>
    public async ValueTask<IDisposable> AcquireAsync(CancellationToken cancellationToken)
    {
        TaskCompletionSource waiter;
        LinkedListNode<TaskCompletionSource> node;
        lock (_gate)
        {
            if (_inFlight < (int)_limit && _waiting.Count == 0)
            {
                _inFlight++;
                return new Lease(this);
            }

            waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            node = _waiting.AddLast(waiter);
        }

        using (cancellationToken.Register(() =>
        {
            lock (_gate)
            {
                if (node.List is not null)
                {
                    _waiting.Remove(node);
                    waiter.TrySetCanceled(cancellationToken);
                }
            }
        }))
        {
            await waiter.Task.ConfigureAwait(false);
        }

        return new Lease(this);
    }

    /// <summary>The endpoint answered 429: halve the limit, unless it was just halved.</summary>
    public void RateLimited()
    {
        int? changed;
        lock (_gate)
        {
            var now = _time.GetTimestamp();
            if (_lastDecrease != long.MinValue && _time.GetElapsedTime(_lastDecrease, now) < cooldown)
            {
                return;
            }

            _lastDecrease = now;
            changed = Set(Math.Max(1, _limit / 2));
        }

        Notify(changed);
    }

    /// <summary>The endpoint answered: grow the limit by 1/limit, up to the maximum.</summary>
    public void Succeeded()
    {
        int? changed;
        lock (_gate)
        {
            changed = Set(Math.Min(maximum, _limit + (1 / _limit)));
            Admit();
        }

        Notify(changed);
    }

    private int? Set(double limit)
    {
        var before = (int)_limit;
        _limit = limit;
        return (int)limit != before ? (int)limit : null;
    }

    private void Notify(int? changed)
    {
        if (changed is { } limit)
        {
            LimitChanged?.Invoke(limit);
        }
    }

    // Hands free slots to waiters in arrival order.
    private void Admit()
    {
        while (_inFlight < (int)_limit && _waiting.First is { } next)
        {
            _waiting.RemoveFirst();
            _inFlight++;
            next.Value.TrySetResult();
        }
    }

    private void Release()
    {
        lock (_gate)
        {
            _inFlight--;
            Admit();
        }
    }

    private sealed class Lease(AimdConcurrency owner) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                owner.Release();
            }
        }
    }
}
