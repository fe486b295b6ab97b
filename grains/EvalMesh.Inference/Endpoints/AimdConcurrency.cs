namespace EvalMesh.Inference.Endpoints;

/// <summary>
/// How many requests one process sends an endpoint at once, adapted the way TCP adapts its window (additive increase,
/// multiplicative decrease): a 429 halves the limit, at most once per <paramref name="cooldown"/> so that one burst of
/// 429s counts once; each success adds 1/limit, so the limit grows by one per limit's worth of successes, back up to
/// <see cref="Maximum"/>. A <see cref="Ceiling"/> (the slots the cluster leased this process) caps it from above.
/// </summary>
public sealed class AimdConcurrency(int maximum, TimeSpan cooldown, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly LinkedList<TaskCompletionSource> _waiting = [];
    private readonly Lock _gate = new();
    private double _limit = maximum;
    private int _maximum = maximum;
    private int? _ceiling;
    private int _inFlight;
    private long _lastDecrease = long.MinValue;

    /// <summary>The adapted limit (requests in flight are also kept under the <see cref="Ceiling"/>).</summary>
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

    /// <summary>The most the adapted limit grows to.</summary>
    public int Maximum
    {
        get
        {
            lock (_gate)
            {
                return _maximum;
            }
        }

        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            Change(() =>
            {
                _maximum = value;
                _limit = Math.Min(_limit, value);
            });
        }
    }

    /// <summary>The most requests in flight whatever the adapted limit (null for none); 0 stops every new request.</summary>
    public int? Ceiling
    {
        get
        {
            lock (_gate)
            {
                return _ceiling;
            }
        }

        set => Change(() => _ceiling = value is { } ceiling ? Math.Max(0, ceiling) : null);
    }

    /// <summary>Requests in flight now.</summary>
    public int InFlight
    {
        get
        {
            lock (_gate)
            {
                return _inFlight;
            }
        }
    }

    /// <summary>Whether a new request would wait because of the ceiling rather than the adapted limit.</summary>
    public bool AtCeiling
    {
        get
        {
            lock (_gate)
            {
                return _ceiling is { } ceiling && ceiling <= (int)_limit && _inFlight + _waiting.Count >= ceiling;
            }
        }
    }

    /// <summary>Raised with the new adapted limit whenever it changes by a whole request.</summary>
    public event Action<int>? LimitChanged;

    private int Effective => Math.Min((int)_limit, _ceiling ?? int.MaxValue);

    /// <summary>Waits for a slot; dispose the returned lease when the request is done.</summary>
    public async ValueTask<IDisposable> AcquireAsync(CancellationToken cancellationToken)
    {
        TaskCompletionSource waiter;
        LinkedListNode<TaskCompletionSource> node;
        lock (_gate)
        {
            if (_inFlight < Effective && _waiting.Count == 0)
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
        lock (_gate)
        {
            var now = _time.GetTimestamp();
            if (_lastDecrease != long.MinValue && _time.GetElapsedTime(_lastDecrease, now) < cooldown)
            {
                return;
            }

            _lastDecrease = now;
        }

        Change(() => _limit = Math.Max(1, _limit / 2));
    }

    /// <summary>The endpoint answered: grow the limit by 1/limit, up to the maximum.</summary>
    public void Succeeded() => Change(() => _limit = Math.Min(_maximum, _limit + (1 / _limit)));

    // Applies a change under the lock, admits waiters it makes room for, and tells whether the adapted limit moved.
    private void Change(Action change)
    {
        int? changed;
        lock (_gate)
        {
            var before = (int)_limit;
            change();
            Admit();
            changed = (int)_limit != before ? (int)_limit : null;
        }

        Notify(changed);
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
        while (_inFlight < Effective && _waiting.First is { } next)
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
