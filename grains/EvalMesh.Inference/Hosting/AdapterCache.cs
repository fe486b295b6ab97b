using EvalMesh.Inference.Gguf;
using LLama.Native;
using Prometheus;

namespace EvalMesh.Inference.Hosting;

/// <summary>Counters of the adapter cache.</summary>
/// <param name="Loads">Adapters loaded into llama.cpp.</param>
/// <param name="Evictions">Adapters unloaded to make room.</param>
/// <param name="Hits">Requests whose adapter was already loaded.</param>
/// <param name="Misses">Requests that had to load their adapter.</param>
/// <param name="Resident">Adapters loaded now.</param>
/// <param name="ResidentBytes">Bytes of the adapter files loaded now.</param>
public sealed record AdapterCacheStats(long Loads, long Evictions, long Hits, long Misses, int Resident, long ResidentBytes);

/// <summary>One loaded adapter.</summary>
/// <param name="Model">The base model file.</param>
/// <param name="Adapter">The adapter file.</param>
/// <param name="Bytes">Its size.</param>
/// <param name="InUse">Requests using it now.</param>
/// <param name="Frequency">How often it has been asked for lately.</param>
public sealed record ResidentAdapter(string Model, string Adapter, long Bytes, int InUse, int Frequency);

/// <summary>What happened to one adapter in this process.</summary>
public sealed record AdapterCounters
{
    /// <summary>Times it was loaded.</summary>
    public long Loads { get; set; }

    /// <summary>Requests that found it loaded.</summary>
    public long Hits { get; set; }

    /// <summary>Requests that had to load it.</summary>
    public long Misses { get; set; }

    /// <summary>Times it was evicted.</summary>
    public long Evictions { get; set; }
}

/// <summary>
/// Loaded LoRA adapters, bounded by a byte budget and a count, the least often used first out (see
/// <see cref="AdapterFrequency"/>; or the least recently used, as configured). A use is counted when an adapter is
/// acquired: by a request that starts its batch, or by a prefetch; requests that join a running batch are not counted
/// again (counting them too gave the same routing loads, and cost the eval schedule's prefetched adapters their rank:
/// 20 loads instead of 16 in one eval-routing run of five). An adapter in use is
/// never unloaded (unloading an adapter that is still attached crashes llama.cpp). Every file is copied to a private
/// snapshot and validated there before llama.cpp loads it, so a file that changes meanwhile cannot reach it.
/// Only the model host's scheduler thread calls into it, except for <see cref="Stats"/>. Its counts and residency are
/// also exported as metrics.
/// </summary>
internal sealed class AdapterCache : IDisposable
{
    private readonly ModelHostOptions _options;
    private readonly Dictionary<(string Model, string Adapter), Entry> _entries = [];
    private readonly AdapterFrequency _frequency = new();
    private Dictionary<string, Elsewhere> _elsewhere = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Model, string Adapter), Tally> _tallies = [];
    private readonly string _snapshots = Directory.CreateTempSubdirectory($"evalmesh-adapters-{Environment.ProcessId}-").FullName;
    private long _clock;

    public AdapterCache(ModelHostOptions options)
    {
        _options = options;
        InferenceMetrics.AdapterSlots.Set(options.MaxAdapters);
        InferenceMetrics.AdapterBudgetBytes.Set(options.AdapterBudgetBytes);
    }

    public event Action<string, string>? Evicting;

    public event Action<string, TimeSpan>? Loaded;

    public AdapterCacheStats Stats
    {
        get
        {
            lock (_entries)
            {
                var counts = _tallies.Values.Select(t => t.Counts).ToList();
                return new AdapterCacheStats(counts.Sum(c => c.Loads), counts.Sum(c => c.Evictions), counts.Sum(c => c.Hits), counts.Sum(c => c.Misses), _entries.Count, _entries.Values.Sum(e => e.Info.Length));
            }
        }
    }

    public IReadOnlyList<ResidentAdapter> Resident
    {
        get
        {
            lock (_entries)
            {
                return [.. _entries.Select(e => new ResidentAdapter(e.Key.Model, e.Key.Adapter, e.Value.Info.Length, e.Value.InUse, _frequency.Of(FrequencyKey(e.Key))))
                    .OrderBy(a => a.Adapter, StringComparer.Ordinal)];
            }
        }
    }

    /// <summary>Loads, hits, misses and evictions per adapter this process has seen.</summary>
    public IReadOnlyDictionary<(string Model, string Adapter), AdapterCounters> Counters()
    {
        lock (_entries)
        {
            return _tallies.ToDictionary(p => p.Key, p => p.Value.Counts with { });
        }
    }

    /// <summary>Whether an adapter is loaded for a base model now.</summary>
    public bool IsResident(string model, string adapter)
    {
        lock (_entries)
        {
            return _entries.ContainsKey((Path.GetFullPath(model), Path.GetFullPath(adapter)));
        }
    }

    /// <summary>Whether an adapter file fits beside the loaded ones without evicting any.</summary>
    public bool HasRoomFor(string adapter)
    {
        var bytes = SizeOf(adapter);
        lock (_entries)
        {
            return !IsOver(extra: 1, bytes);
        }
    }

    /// <summary>
    /// Forgets how often an adapter was asked for, here and (until they say otherwise) on other silos, so that it is
    /// the first to make room (a run is done with it).
    /// </summary>
    public void Release(string model, string adapter)
    {
        var key = FrequencyKey(model, adapter);
        lock (_entries)
        {
            _frequency.Forget(key);
            _elsewhere.Remove(key);
        }
    }

    /// <summary>How often an adapter has been asked for here lately, also once evicted (a ghost count).</summary>
    public int FrequencyOf(string model, string adapter)
    {
        var key = FrequencyKey(model, adapter);
        lock (_entries)
        {
            return _frequency.Of(key);
        }
    }

    /// <summary>
    /// How the other silos see adapters (absent means never asked for and not surplus): eviction ranks an adapter by
    /// its count here plus theirs, its cluster-wide frequency, or a surplus copy as never asked for, as placement does.
    /// Replaces the previous view.
    /// </summary>
    public void SetElsewhere(IReadOnlyDictionary<(string Model, string Adapter), Elsewhere> view)
    {
        var elsewhere = view.ToDictionary(c => FrequencyKey(c.Key.Model, c.Key.Adapter), c => c.Value, StringComparer.Ordinal);
        lock (_entries)
        {
            _elsewhere = elsewhere;
        }
    }

    private static string FrequencyKey((string Model, string Adapter) key) => $"{key.Model}|{key.Adapter}";

    private static string FrequencyKey(string model, string adapter) => FrequencyKey((Path.GetFullPath(model), Path.GetFullPath(adapter)));

    private Tally TallyOf((string Model, string Adapter) key)
    {
        if (!_tallies.TryGetValue(key, out var tally))
        {
            _tallies[key] = tally = new Tally(InferenceMetrics.Label(key.Model), InferenceMetrics.Label(key.Adapter));
        }

        return tally;
    }

    private void PublishResidency()
    {
        InferenceMetrics.AdaptersResident.Set(_entries.Count);
        InferenceMetrics.AdapterResidentBytes.Set(_entries.Values.Sum(e => e.Info.Length));
    }

    /// <summary>Counts a request served with an adapter: a hit if the adapter was loaded when it started, else a miss.</summary>
    public void Served(string model, string adapter, bool wasResident)
    {
        lock (_entries)
        {
            var tally = TallyOf((model, adapter));
            if (wasResident)
            {
                tally.Hit();
            }
            else
            {
                tally.Miss();
            }
        }
    }

    /// <summary>The adapter for this base, loading it if needed; release the lease when the request is done.</summary>
    public Lease Acquire(LoadedModel model, string adapterPath)
    {
        var key = (model.Info.Path, Path.GetFullPath(adapterPath));
        Entry? entry;
        lock (_entries)
        {
            _frequency.Touch(FrequencyKey(key));
            if (_entries.TryGetValue(key, out entry))
            {
                entry.InUse++;
                entry.LastUsed = ++_clock;
                return new Lease(this, entry, wasResident: true);
            }
        }

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var (info, snapshot) = Snapshot(key.Item2, model.Info);
        LoraAdapter adapter;
        try
        {
            adapter = model.Weights.NativeHandle.LoadLoraFromFile(snapshot);
        }
        catch (Exception ex) when (ex is InvalidOperationException or LLama.Exceptions.RuntimeError)
        {
            File.Delete(snapshot);
            throw new InferenceException(InferenceProblem.AdapterLoadFailed, $"{adapterPath}: llama.cpp could not load the adapter: {ex.Message}", ex);
        }

        if (!IsLoaded(adapter))
        {
            File.Delete(snapshot);
            throw new InferenceException(InferenceProblem.AdapterLoadFailed, $"{adapterPath}: llama.cpp could not load the adapter");
        }

        var took = System.Diagnostics.Stopwatch.GetElapsedTime(started);
        lock (_entries)
        {
            entry = new Entry(adapter, info, snapshot) { InUse = 1, LastUsed = ++_clock };
            _entries[key] = entry;
            TallyOf(key).Load(took);
            PublishResidency();
        }

        Loaded?.Invoke(key.Item2, took);
        EvictOverBudget();
        return new Lease(this, entry, wasResident: false);
    }

    /// <summary>Unloads an adapter now, unless a request is using it; returns whether it was unloaded.</summary>
    public bool Evict(string model, string adapter)
    {
        var key = (Path.GetFullPath(model), Path.GetFullPath(adapter));
        Entry? entry;
        lock (_entries)
        {
            if (!_entries.TryGetValue(key, out entry) || entry.InUse > 0)
            {
                return false;
            }

            Remove(key);
        }

        Unload(key, entry);
        return true;
    }

    /// <summary>
    /// Makes room for an adapter that is not loaded by evicting the adapters the eviction policy ranks last. When the
    /// next of them is serving a request and <paramref name="waitFor"/> says it will be done soon enough, it returns
    /// false: the load should wait for it rather than evict an adapter used more (which would cost a load again later).
    /// Otherwise it passes over adapters in use and returns true: the load goes ahead, over the budget if nothing is
    /// idle, until requests end.
    /// </summary>
    public bool MakeRoom(string model, string adapter, Func<string, string, bool> waitFor)
    {
        var key = (Path.GetFullPath(model), Path.GetFullPath(adapter));
        lock (_entries)
        {
            if (_entries.ContainsKey(key))
            {
                return true;
            }
        }

        // Only an adapter that is not loaded has its file looked at.
        var bytes = SizeOf(adapter);
        while (true)
        {
            KeyValuePair<(string, string), Entry> victim;
            lock (_entries)
            {
                if (!IsOver(extra: 1, bytes))
                {
                    return true;
                }

                victim = VictimAmong([.. _entries]);
                if (victim.Value.InUse > 0)
                {
                    if (waitFor(victim.Key.Item1, victim.Key.Item2))
                    {
                        return false;
                    }

                    var idle = _entries.Where(e => e.Value.InUse == 0).ToList();
                    if (idle.Count == 0)
                    {
                        return true;
                    }

                    victim = VictimAmong(idle);
                }

                Remove(victim.Key);
            }

            Unload(victim.Key, victim.Value);
        }
    }

    /// <summary>Unloads the least often used idle adapters (cluster-wide) until the cache is within its budget and count.</summary>
    public void EvictOverBudget()
    {
        while (true)
        {
            KeyValuePair<(string, string), Entry> victim;
            lock (_entries)
            {
                var idle = _entries.Where(e => e.Value.InUse == 0).ToList();
                if (!IsOver(extra: 0, bytes: 0) || idle.Count == 0)
                {
                    return;
                }

                victim = VictimAmong(idle);
                Remove(victim.Key);
            }

            Unload(victim.Key, victim.Value);
        }
    }

    private static long SizeOf(string adapter) => File.Exists(adapter) ? new FileInfo(adapter).Length : 0;

    /// <summary>Whether the loaded adapters and <paramref name="extra"/> more of <paramref name="bytes"/> exceed the count or the budget.</summary>
    private bool IsOver(int extra, long bytes) =>
        _entries.Count + extra > _options.MaxAdapters || _entries.Values.Sum(e => e.Info.Length) + bytes > _options.AdapterBudgetBytes;

    /// <summary>The candidate the eviction policy ranks last: least often used (cluster-wide), or least recently used.</summary>
    private KeyValuePair<(string, string), Entry> VictimAmong(List<KeyValuePair<(string, string), Entry>> candidates)
    {
        if (_options.Eviction == "lru")
        {
            return candidates.MinBy(e => e.Value.LastUsed);
        }

        var chosen = _frequency.Victim(candidates.Select(e => (FrequencyKey(e.Key), e.Value.LastUsed)), _elsewhere.GetValueOrDefault);
        return candidates.First(e => FrequencyKey(e.Key) == chosen);
    }

    private void Remove((string, string) key)
    {
        _entries.Remove(key);
        TallyOf(key).Evict();
        PublishResidency();
    }

    private void Unload((string Model, string Adapter) key, Entry entry)
    {
        Evicting?.Invoke(key.Model, key.Adapter);
        entry.Adapter.Unload();
        File.Delete(entry.Snapshot);
    }

    // LLamaSharp 0.30 returns an adapter with a null native pointer instead of throwing when llama.cpp rejects a file,
    // and using it crashes the process. The pointer is internal, so it is read by reflection; validation comes first,
    // this is the last line of defence.
    private static readonly System.Reflection.PropertyInfo? NativePointer =
        typeof(LoraAdapter).GetProperty("Pointer", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Public);

    private static bool IsLoaded(LoraAdapter adapter) => NativePointer?.GetValue(adapter) is not IntPtr pointer || pointer != IntPtr.Zero;

    public void Dispose()
    {
        lock (_entries)
        {
            foreach (var entry in _entries.Values)
            {
                entry.Adapter.Unload();
            }

            _entries.Clear();
            PublishResidency();
        }

        Directory.Delete(_snapshots, recursive: true);
    }

    private void Release(Entry entry)
    {
        lock (_entries)
        {
            entry.InUse--;
        }

        EvictOverBudget();
    }

    private (AdapterFileInfo Info, string Snapshot) Snapshot(string path, ModelFileInfo model)
    {
        if (!File.Exists(path))
        {
            throw new GgufException(path, GgufProblem.Missing, "no such file");
        }

        var before = new FileInfo(path);
        var (length, written) = (before.Length, before.LastWriteTimeUtc);
        var snapshot = Path.Combine(_snapshots, $"{Guid.NewGuid():N}.gguf");
        File.Copy(path, snapshot);
        var after = new FileInfo(path);
        try
        {
            if (after.Length != length || after.LastWriteTimeUtc != written || new FileInfo(snapshot).Length != length)
            {
                throw new GgufException(path, GgufProblem.ChangedWhileLoading, "the file changed while it was being copied for loading; try again once it is complete");
            }

            return (GgufValidator.ValidateAdapter(snapshot, model) with { Path = path }, snapshot);
        }
        catch (GgufException ex) when (ex.Path == snapshot)
        {
            File.Delete(snapshot);
            throw new GgufException(path, ex.Problem, ex.Detail);
        }
        catch
        {
            File.Delete(snapshot);
            throw;
        }
    }

    internal sealed class Entry(LoraAdapter adapter, AdapterFileInfo info, string snapshot)
    {
        public LoraAdapter Adapter { get; } = adapter;

        public AdapterFileInfo Info { get; } = info;

        public string Snapshot { get; } = snapshot;

        public int InUse { get; set; }

        public long LastUsed { get; set; }
    }

    /// <summary>One adapter's counts, kept here and in the metrics.</summary>
    private sealed class Tally(string model, string adapter)
    {
        private readonly Counter.Child _loads = InferenceMetrics.AdapterLoads.WithLabels(model, adapter);
        private readonly Counter.Child _evictions = InferenceMetrics.AdapterEvictions.WithLabels(model, adapter);
        private readonly Counter.Child _hits = InferenceMetrics.AdapterHits.WithLabels(model, adapter);
        private readonly Counter.Child _misses = InferenceMetrics.AdapterMisses.WithLabels(model, adapter);

        public AdapterCounters Counts { get; } = new();

        public void Load(TimeSpan took)
        {
            Counts.Loads++;
            _loads.Inc();
            InferenceMetrics.AdapterLoadDuration.Observe(took.TotalSeconds);
        }

        public void Evict()
        {
            Counts.Evictions++;
            _evictions.Inc();
        }

        public void Hit()
        {
            Counts.Hits++;
            _hits.Inc();
        }

        public void Miss()
        {
            Counts.Misses++;
            _misses.Inc();
        }
    }

    /// <summary>A request's hold on an adapter: while held, the adapter cannot be evicted.</summary>
    internal sealed class Lease(AdapterCache cache, Entry entry, bool wasResident) : IDisposable
    {
        private int _released;

        public LoraAdapter Adapter => entry.Adapter;

        public bool WasResident => wasResident;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                cache.Release(entry);
            }
        }
    }
}
