namespace EvalMesh.Inference.Llama;

/// <summary>
/// The LoRA adapters loaded in this process, bounded by a byte budget and a count; the eviction policy chooses which
/// idle adapter makes room (<see cref="IAdapterEviction"/>). A use is counted when an adapter is acquired: by a request
/// that starts its batch, or by a prefetch; requests that join a running batch are not counted again (counting them too
/// gave the same routing loads, and cost the eval schedule's prefetched adapters their rank: 20 loads instead of 16 in
/// one eval-routing run of five). An adapter in use is never unloaded (unloading an adapter that is still attached
/// crashes llama.cpp).
/// Threading: its bookkeeping is under one lock, so any thread may read it or give it hints (<see cref="Release"/>,
/// <see cref="SetElsewhere"/>); loading and unloading (<see cref="Acquire"/>, <see cref="MakeRoom"/>,
/// <see cref="Evict"/>, <see cref="EvictOverBudget"/> and a lease's end) happen only on the model host's scheduler
/// thread, the one that sets adapters on contexts and decodes.
/// </summary>
internal sealed class AdapterCache : IAdapterResidency, IDisposable
{
    private readonly ModelHostOptions _options;
    private readonly Lock _gate = new();
    private readonly Dictionary<ModelFiles, Entry> _entries = [];
    private readonly Dictionary<ModelFiles, AdapterTally> _tallies = [];
    private readonly AdapterFrequency _frequency = new();
    private readonly IAdapterEviction _eviction;
    private readonly AdapterLoader _loader = new();
    private Dictionary<ModelFiles, Elsewhere> _elsewhere = [];
    private long _clock;

    public AdapterCache(ModelHostOptions options)
    {
        _options = options;
        _eviction = IAdapterEviction.Create(options.Eviction, _frequency, files => _elsewhere.GetValueOrDefault(files));
        InferenceMetrics.AdapterSlots.Set(options.MaxAdapters);
        InferenceMetrics.AdapterBudgetBytes.Set(options.AdapterBudgetBytes);
    }

    /// <summary>Raised on the scheduler thread before an adapter is unloaded (no sequence holds it).</summary>
    public event Action<ModelFiles>? Evicting;

    /// <summary>Raised on the scheduler thread after an adapter is validated and loaded, with how long that took.</summary>
    public event Action<ModelFiles, TimeSpan>? Loaded;

    public int Capacity => _options.MaxAdapters;

    public AdapterCacheStats Stats
    {
        get
        {
            lock (_gate)
            {
                var counts = _tallies.Values.Select(t => t.Counts).ToList();
                return new AdapterCacheStats(counts.Sum(c => c.Loads), counts.Sum(c => c.Evictions), counts.Sum(c => c.Hits), counts.Sum(c => c.Misses), _entries.Count, ResidentBytes);
            }
        }
    }

    public IReadOnlyList<ResidentAdapter> Resident
    {
        get
        {
            lock (_gate)
            {
                return [.. _entries.Select(e => new ResidentAdapter(e.Key, e.Value.Adapter.Info.Length, e.Value.InUse, _frequency.Of(e.Key.Key)))
                    .OrderBy(a => a.Files.Adapter, StringComparer.Ordinal)];
            }
        }
    }

    public IReadOnlyDictionary<ModelFiles, AdapterCounters> Counters
    {
        get
        {
            lock (_gate)
            {
                return _tallies.ToDictionary(p => p.Key, p => p.Value.Counts);
            }
        }
    }

    public bool IsResident(ModelFiles files)
    {
        lock (_gate)
        {
            return _entries.ContainsKey(files);
        }
    }

    public int FrequencyOf(ModelFiles files)
    {
        lock (_gate)
        {
            return _frequency.Of(files.Key);
        }
    }

    private long ResidentBytes => _entries.Values.Sum(e => e.Adapter.Info.Length);

    /// <summary>Whether an adapter file fits beside the loaded ones without evicting any.</summary>
    public bool HasRoomFor(ModelFiles files)
    {
        var bytes = SizeOf(files);
        lock (_gate)
        {
            return !IsOver(extra: 1, bytes);
        }
    }

    /// <summary>
    /// Forgets how often an adapter was asked for, here and (until they say otherwise) on other silos, so that it is
    /// the first to make room (a run is done with it).
    /// </summary>
    public void Release(ModelFiles files)
    {
        lock (_gate)
        {
            _frequency.Forget(files.Key);
            _elsewhere.Remove(files);
        }
    }

    /// <summary>
    /// How the other silos see adapters (absent means never asked for and not surplus): eviction ranks an adapter by
    /// its count here plus theirs, its cluster-wide frequency, or a surplus copy as never asked for, as placement does.
    /// Replaces the previous view.
    /// </summary>
    public void SetElsewhere(IReadOnlyDictionary<ModelFiles, Elsewhere> view)
    {
        var elsewhere = view.ToDictionary();
        lock (_gate)
        {
            _elsewhere = elsewhere;
        }
    }

    /// <summary>Counts a request served with an adapter: a hit if the adapter was loaded when it started, else a miss.</summary>
    public void Served(ModelFiles files, bool wasResident)
    {
        lock (_gate)
        {
            TallyOf(files).Served(wasResident);
        }
    }

    /// <summary>The adapter of <paramref name="files"/> on its loaded base, loading it if needed; dispose of the lease when the request is done.</summary>
    public Lease Acquire(ModelFiles files, LoadedModel model)
    {
        lock (_gate)
        {
            _frequency.Touch(files.Key);
            if (_entries.TryGetValue(files, out var resident))
            {
                resident.InUse++;
                resident.LastUsed = ++_clock;
                return new Lease(this, resident, wasResident: true);
            }
        }

        var adapter = _loader.Load(files.Adapter!, model);
        var entry = new Entry(adapter) { InUse = 1 };
        lock (_gate)
        {
            entry.LastUsed = ++_clock;
            _entries[files] = entry;
            TallyOf(files).Load(adapter.Took);
            PublishResidency();
        }

        Loaded?.Invoke(files, adapter.Took);
        EvictOverBudget();
        return new Lease(this, entry, wasResident: false);
    }

    /// <summary>Unloads an adapter now, unless a request is using it; returns whether it was unloaded.</summary>
    public bool Evict(ModelFiles files)
    {
        Entry? entry;
        lock (_gate)
        {
            if (!_entries.TryGetValue(files, out entry) || entry.InUse > 0)
            {
                return false;
            }

            Remove(files);
        }

        Unload(files, entry);
        return true;
    }

    /// <summary>
    /// Makes room for an adapter that is not loaded by evicting the adapters the eviction policy ranks last. When the
    /// next of them is serving a request and <paramref name="waitFor"/> says it will be done soon enough, it returns
    /// false: the load should wait for it rather than evict an adapter used more (which would cost a load again later).
    /// Otherwise it passes over adapters in use and returns true: the load goes ahead, over the budget if nothing is
    /// idle, until requests end.
    /// </summary>
    public bool MakeRoom(ModelFiles files, Func<ModelFiles, bool> waitFor) =>
        IsResident(files) || EvictWhileOver(extra: 1, SizeOf(files), waitFor); // only an adapter that is not loaded has its file looked at

    /// <summary>Unloads the idle adapters the policy ranks last until the cache is within its budget and count.</summary>
    public void EvictOverBudget() => EvictWhileOver(extra: 0, bytes: 0, waitFor: null);

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var entry in _entries.Values)
            {
                entry.Adapter.Native.Unload();
            }

            _entries.Clear();
            PublishResidency();
        }

        _loader.Dispose();
    }

    private static long SizeOf(ModelFiles files) => File.Exists(files.Adapter) ? new FileInfo(files.Adapter).Length : 0;

    /// <summary>Whether the loaded adapters and <paramref name="extra"/> more of <paramref name="bytes"/> exceed the count or the budget.</summary>
    private bool IsOver(int extra, long bytes) => _entries.Count + extra > _options.MaxAdapters || ResidentBytes + bytes > _options.AdapterBudgetBytes;

    /// <summary>
    /// Evicts idle adapters, those the policy ranks last first, while the cache with <paramref name="extra"/> more
    /// adapters of <paramref name="bytes"/> is over its count or budget. Returns false, evicting nothing more, when the
    /// adapter ranked last of all is busy and <paramref name="waitFor"/> says to wait for it.
    /// </summary>
    private bool EvictWhileOver(int extra, long bytes, Func<ModelFiles, bool>? waitFor)
    {
        while (true)
        {
            ModelFiles victim;
            Entry entry;
            lock (_gate)
            {
                if (!IsOver(extra, bytes))
                {
                    return true;
                }

                if (waitFor is not null && VictimAmong(_entries) is var last && _entries[last].InUse > 0 && waitFor(last))
                {
                    return false;
                }

                var idle = _entries.Where(e => e.Value.InUse == 0).ToList();
                if (idle.Count == 0)
                {
                    return true;
                }

                victim = VictimAmong(idle);
                entry = _entries[victim];
                Remove(victim);
            }

            Unload(victim, entry);
        }
    }

    private ModelFiles VictimAmong(IEnumerable<KeyValuePair<ModelFiles, Entry>> candidates) =>
        _eviction.Victim([.. candidates.Select(e => new EvictionCandidate(e.Key, e.Value.LastUsed))]);

    private AdapterTally TallyOf(ModelFiles files)
    {
        if (!_tallies.TryGetValue(files, out var tally))
        {
            _tallies[files] = tally = new AdapterTally(files);
        }

        return tally;
    }

    private void Remove(ModelFiles files)
    {
        _entries.Remove(files);
        TallyOf(files).Evict();
        PublishResidency();
    }

    private void PublishResidency()
    {
        InferenceMetrics.AdaptersResident.Set(_entries.Count);
        InferenceMetrics.AdapterResidentBytes.Set(ResidentBytes);
    }

    private void Unload(ModelFiles files, Entry entry)
    {
        Evicting?.Invoke(files);
        AdapterLoader.Unload(entry.Adapter);
    }

    private void Release(Entry entry)
    {
        lock (_gate)
        {
            entry.InUse--;
        }

        EvictOverBudget();
    }

    internal sealed class Entry(LoadedAdapter adapter)
    {
        public LoadedAdapter Adapter { get; } = adapter;

        public int InUse { get; set; }

        public long LastUsed { get; set; }
    }

    /// <summary>A request's hold on an adapter: while held, the adapter cannot be evicted.</summary>
    internal sealed class Lease : IDisposable
    {
        private readonly AdapterCache _cache;
        private readonly Entry _entry;
        private int _released;

        internal Lease(AdapterCache cache, Entry entry, bool wasResident)
        {
            _cache = cache;
            _entry = entry;
            WasResident = wasResident;
        }

        public LLama.Native.LoraAdapter Adapter => _entry.Adapter.Native;

        public bool WasResident { get; }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                _cache.Release(_entry);
            }
        }
    }
}
