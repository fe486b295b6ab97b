using EvalMesh.Abstractions;
using EvalMesh.Contracts;
using EvalMesh.Grains.Endpoints;

namespace EvalMesh.Grains.Runs;

/// <summary>
/// The order and pace in which a run's shards run, and what the adapter directory is told about them. Pure: it decides
/// from the shards, the adapter each needs, and the residency directory, so that its choices are tested without a
/// cluster (<see cref="RunSchedule"/> names the two).
/// </summary>
internal abstract class ShardSchedule
{
    /// <summary>The most shards that run at once, so that the work in flight (and memory) does not grow with the run.</summary>
    public const int MaxActiveShards = 16;

    private readonly IReadOnlyList<string?> _adapters;

    /// <param name="adapters">The adapter key each shard needs, by shard number (null when it needs none).</param>
    protected ShardSchedule(IReadOnlyList<string?> adapters) => _adapters = adapters;

    /// <summary>The schedule a run asked for, over its shards in the given order.</summary>
    public static ShardSchedule For(RunSpec spec, IReadOnlyList<ShardPlan> shards)
    {
        ArgumentNullException.ThrowIfNull(spec);
        List<string?> adapters = [.. shards.Select(shard => spec.Endpoints[shard.EndpointIndex] is { Type: EndpointType.Llama } endpoint ? EndpointClients.LlamaKey(endpoint, spec.Adapters) : null)];
        return For(spec.Schedule, adapters);
    }

    /// <summary>A schedule over shards that need these adapters (by shard number; null for none).</summary>
    public static ShardSchedule For(RunSchedule schedule, IReadOnlyList<string?> adapters) => schedule switch
    {
        RunSchedule.Fifo => new FifoSchedule(adapters),
        _ => new AdapterAwareSchedule(adapters),
    };

    /// <summary>
    /// Splits a run's matrix into shards: per suite and endpoint, runs of cases of about <see cref="RunSpec.ShardSize"/>
    /// cells (every format and repeat of a case in one shard), in plan order.
    /// </summary>
    public static List<ShardPlan> Plan(RunSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var shards = new List<ShardPlan>();
        var cellsPerCase = Math.Max(1, spec.Formats.Count * spec.Repeats);
        var casesPerShard = Math.Max(1, spec.ShardSize / cellsPerCase);
        for (var s = 0; s < spec.Suites.Count; s++)
        {
            for (var e = 0; e < spec.Endpoints.Count; e++)
            {
                for (var start = 0; start < spec.Suites[s].CaseCount; start += casesPerShard)
                {
                    shards.Add(new ShardPlan(s, e, start, Math.Min(spec.Suites[s].CaseCount, start + casesPerShard)));
                }
            }
        }

        return shards;
    }

    /// <summary>How many shards the run has.</summary>
    protected int ShardCount => _adapters.Count;

    /// <summary>The adapter a shard needs, if any.</summary>
    protected string? AdapterOf(int shard) => _adapters[shard];

    /// <summary>The order in which the shards of a new run run: a permutation of their numbers.</summary>
    public abstract IReadOnlyList<int> Order(DirectorySnapshot residency);

    /// <summary>The shards to run now, among the unfinished ones (in run order).</summary>
    public abstract IReadOnlyList<int> Window(IReadOnlyList<int> unfinished, DirectorySnapshot residency);

    /// <summary>The adapters the window's shards need, which the directory should keep from being evicted.</summary>
    public abstract IReadOnlyList<string> Leased(IReadOnlyList<int> window);

    /// <summary>The adapters of upcoming shards to load now, where slots are free.</summary>
    public abstract IReadOnlyList<string> Prefetch(IReadOnlyList<int> window, IReadOnlyList<int> unfinished, DirectorySnapshot residency);

    /// <summary>The adapter a finished shard no longer needs, now that no unfinished shard needs it, or null.</summary>
    public abstract string? Released(int finished, IReadOnlyList<int> unfinished);

    /// <summary>Shards in plan order, at most <see cref="MaxActiveShards"/> at once; tells the directory nothing.</summary>
    private sealed class FifoSchedule(IReadOnlyList<string?> adapters) : ShardSchedule(adapters)
    {
        public override IReadOnlyList<int> Order(DirectorySnapshot residency) => [.. Enumerable.Range(0, ShardCount)];

        public override IReadOnlyList<int> Window(IReadOnlyList<int> unfinished, DirectorySnapshot residency) => [.. unfinished.Take(MaxActiveShards)];

        public override IReadOnlyList<string> Leased(IReadOnlyList<int> window) => [];

        public override IReadOnlyList<string> Prefetch(IReadOnlyList<int> window, IReadOnlyList<int> unfinished, DirectorySnapshot residency) => [];

        public override string? Released(int finished, IReadOnlyList<int> unfinished) => null;
    }

    /// <summary>
    /// Shards grouped by the adapter they need, adapters already resident somewhere first (no load at all), then shards
    /// that need no adapter, then the rest; so each silo works through what it holds before any new load, and no
    /// adapter is loaded twice in a row because of ordering. No more distinct adapters run at once than the cluster
    /// holds, upcoming ones are prefetched into free slots, and an adapter is released once no shard needs it.
    /// </summary>
    private sealed class AdapterAwareSchedule(IReadOnlyList<string?> adapters) : ShardSchedule(adapters)
    {
        public override IReadOnlyList<int> Order(DirectorySnapshot residency)
        {
            var resident = residency.Silos.SelectMany(s => s.Adapters).Where(a => a.Resident).Select(a => a.Key).ToHashSet(StringComparer.Ordinal);
            return [.. Enumerable.Range(0, ShardCount)
                .GroupBy(i => AdapterOf(i) ?? string.Empty)
                .OrderBy(g => g.Key.Length == 0 ? 1 : resident.Contains(g.Key) ? 0 : 2)
                .ThenBy(g => g.Min())
                .SelectMany(g => g.Order())];
        }

        public override IReadOnlyList<int> Window(IReadOnlyList<int> unfinished, DirectorySnapshot residency)
        {
            var slots = residency.Silos.Count == 0 ? int.MaxValue : Math.Max(1, residency.Silos.Sum(s => s.Capacity));
            var running = new HashSet<string>(StringComparer.Ordinal);
            var window = new List<int>();
            foreach (var shard in unfinished)
            {
                var adapter = AdapterOf(shard);
                if (window.Count == MaxActiveShards || (adapter is not null && !running.Contains(adapter) && running.Count >= slots))
                {
                    break;
                }

                if (adapter is not null)
                {
                    running.Add(adapter);
                }

                window.Add(shard);
            }

            return window;
        }

        public override IReadOnlyList<string> Leased(IReadOnlyList<int> window) => [.. AdaptersOf(window).Distinct(StringComparer.Ordinal)];

        public override IReadOnlyList<string> Prefetch(IReadOnlyList<int> window, IReadOnlyList<int> unfinished, DirectorySnapshot residency)
        {
            var running = AdaptersOf(window).ToHashSet(StringComparer.Ordinal);
            return [.. AdaptersOf(unfinished).Where(a => !running.Contains(a)).Distinct(StringComparer.Ordinal).Take(residency.Silos.Sum(s => s.Free))];
        }

        public override string? Released(int finished, IReadOnlyList<int> unfinished) =>
            AdapterOf(finished) is { } adapter && !unfinished.Any(i => AdapterOf(i) == adapter) ? adapter : null;

        private IEnumerable<string> AdaptersOf(IEnumerable<int> shards) => shards.Select(AdapterOf).OfType<string>();
    }
}
