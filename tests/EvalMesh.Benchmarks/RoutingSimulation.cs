using System.Globalization;
using EvalMesh.Abstractions;
using EvalMesh.Grains.Routing;
using EvalMesh.Inference.Llama;

namespace EvalMesh.Benchmarks;

/// <summary>
/// Adapter routing at a scale this machine cannot host: a discrete-event simulation of up to 100 GPU nodes and 10,000
/// adapters, driven by the real decision code: <see cref="AdapterPlacementPolicy"/> (homes, following the adapter,
/// promised loads), <see cref="AdapterFrequency"/> (each node's eviction, by cluster-wide frequency from its view of the
/// directory) and <see cref="ReplicaPolicy"/> (hot-adapter replicas), against random placement and round-robin with LRU
/// eviction.
/// Model (from the anchors): a rank-16 adapter of a 7B model is about 40 MB and a node keeps 32 of them (1.25 GB); a
/// cold load takes 300 ms and a request 40 ms of decode on one of 8 batch lanes; Poisson arrivals at 30% of the
/// cluster's decode capacity, adapter popularity Zipf(1.0); nodes report to the directory every 200 ms, and at once
/// on a load or an eviction, as the live cluster does; up to 16 replicas per adapter.
/// Run: <c>dotnet run -c Release --project tests/EvalMesh.Benchmarks -- routing-sim</c>.
/// </summary>
internal static class RoutingSimulation
{
    private const int Lanes = 8;
    private const int SlotsPerNode = 32;
    private const long AdapterBytes = 40L << 20;
    private const double ServiceSeconds = 0.040;
    private const double LoadSeconds = 0.300;
    private const double Utilization = 0.3;
    private const int RequestsPerNode = 1000;

    // Zipf(1.0)'s top adapter takes 1/H(n) of all traffic (13% of 1,000 adapters): at 100 nodes that is 4 nodes' worth,
    // so the default cap of 4 replicas is raised.
    private const int MaxReplicas = 16;
    private static readonly TimeSpan ReportInterval = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan VictimWait = new ModelHostOptions().VictimWait;

    public static int Run()
    {
        Console.WriteLine($"Simulated: {SlotsPerNode} slots of {AdapterBytes >> 20} MB per node, {LoadSeconds * 1000:0} ms cold load, {ServiceSeconds * 1000:0} ms per request on {Lanes} lanes, {Utilization:P0} load, Zipf(1.0), {RequestsPerNode} requests per node");
        Console.WriteLine("| nodes | adapters | policy | loads | hit rate | p50 ms | p95 ms |");
        Console.WriteLine("|---:|---:|---|---:|---:|---:|---:|");
        foreach (var (nodes, adapters) in new[] { (10, 1_000), (25, 2_500), (100, 1_000), (100, 10_000) })
        {
            var requests = nodes * RequestsPerNode;
            var trace = RoutingTrace.Zipf(adapters, requests, exponent: 1.0, seed: 2026);
            foreach (var policy in new[] { "affinity", "random", "round-robin" })
            {
                var result = new Simulation(nodes, adapters, policy).Run(trace);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {nodes} | {adapters} | {policy} | {result.Loads} | {1 - ((double)result.Loads / requests):P1} | {result.P50 * 1000:0} | {result.P95 * 1000:0} |"));
            }

            var oracle = RoutingTrace.PopularityOracle(trace, nodes * SlotsPerNode);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {nodes} | {adapters} | popularity oracle | {oracle} | {1 - ((double)oracle / requests):P1} | | |"));
        }

        return 0;
    }

    private sealed record Outcome(long Loads, double P50, double P95);

    private sealed class Resident
    {
        public long LastUsed { get; set; }

        public List<double> Ends { get; } = [];

        public int InFlight(double now)
        {
            Ends.RemoveAll(end => end <= now);
            return Ends.Count;
        }
    }

    private sealed class Node(string name)
    {
        public string Name { get; } = name;

        public double[] LaneFree { get; } = new double[Lanes];

        public Dictionary<int, Resident> Adapters { get; } = [];

        public AdapterFrequency Frequency { get; } = new();

        public SiloReport? Report { get; set; }

        public double ReportedAt { get; set; } = double.NegativeInfinity;

        /// <summary>Requests waiting or running, from how far ahead the lanes are booked.</summary>
        public int QueueDepth(double now) => (int)Math.Ceiling(LaneFree.Sum(free => Math.Max(0, free - now)) / ServiceSeconds);
    }

    private sealed class Simulation
    {
        private readonly Node[] _nodes;
        private readonly string[] _keys;
        private readonly string _policy;
        private readonly Random _random = new(7);
        private readonly Dictionary<string, int> _byName;
        private readonly HashSet<int>[] _holders;
        private readonly Dictionary<int, string> _homes = [];
        private readonly Dictionary<string, string> _pending = new(StringComparer.Ordinal);
        private readonly ReplicaPolicy _replicas = new(new AdapterAffinityPlacementOptions { MaxReplicas = MaxReplicas });
        private readonly List<string> _names;
        private List<SiloReport> _reports = [];
        private double _replicasAt;
        private long _loads;
        private long _clock;

        public Simulation(int nodes, int adapters, string policy)
        {
            _nodes = [.. Enumerable.Range(0, nodes).Select(i => new Node($"node-{i}"))];
            _keys = [.. Enumerable.Range(0, adapters).Select(i => $"base|adapter-{i}")];
            _policy = policy;
            _byName = _nodes.Select((n, i) => (n.Name, i)).ToDictionary(x => x.Name, x => x.i, StringComparer.Ordinal);
            _holders = [.. Enumerable.Range(0, adapters).Select(_ => new HashSet<int>())];
            _names = [.. _nodes.Select(n => n.Name)];
        }

        public Outcome Run(int[] trace)
        {
            var rate = _nodes.Length * Lanes / ServiceSeconds * Utilization;
            var arrivals = new Random(11);
            var latencies = new double[trace.Length];
            var now = 0.0;
            for (var i = 0; i < trace.Length; i++)
            {
                now += -Math.Log(1 - arrivals.NextDouble()) / rate;
                var node = _policy switch
                {
                    "affinity" => Affinity(trace[i], now),
                    "random" => _random.Next(_nodes.Length),
                    _ => i % _nodes.Length,
                };
                latencies[i] = Serve(node, trace[i], now) - now;
            }

            Array.Sort(latencies);
            return new Outcome(_loads, latencies[latencies.Length / 2], latencies[(int)(latencies.Length * 0.95)]);
        }

        // Adapter-affinity routing as the cluster does it: the least queued holder while there are as many holders as
        // replicas; otherwise the directory's choice (a home, then following the adapter; a new replica's placement).
        private int Affinity(int adapter, double now)
        {
            UpdateReplicas(now);
            var key = _keys[adapter];
            var holders = _holders[adapter];
            var replicas = _replicas.Replicas.GetValueOrDefault(key, 1);
            if (holders.Count >= Math.Min(replicas, _nodes.Length) && holders.Count > 0)
            {
                return holders.MinBy(h => _nodes[h].QueueDepth(now));
            }

            var snapshot = Snapshot(now);
            string target;
            if (holders.Count == 0)
            {
                if (!_homes.TryGetValue(adapter, out var home))
                {
                    _homes[adapter] = home = AdapterPlacementPolicy.Choose(snapshot, key, _names, _random).Silo;
                }

                target = AdapterPlacementPolicy.ServeAt(snapshot, key, home, _random);
                _pending[key] = target;
            }
            else
            {
                var replicaKey = AdapterKey.Replica(key, holders.Count + 1);
                var homes = holders.Select((h, i) => (Key: AdapterKey.Replica(key, i + 1), Silo: _nodes[h].Name)).ToDictionary(x => x.Key, x => x.Silo, StringComparer.Ordinal);
                target = AdapterPlacementPolicy.Choose(snapshot with { Homes = homes }, replicaKey, _names, _random).Silo;
                _pending[replicaKey] = target;
            }

            return _byName[target];
        }

        // Runs a request on a node: on the first free lane, after loading the adapter if it is not resident.
        private double Serve(int index, int adapter, double now)
        {
            var node = _nodes[index];
            var lane = Array.IndexOf(node.LaneFree, node.LaneFree.Min());
            var start = Math.Max(now, node.LaneFree[lane]);
            var key = _keys[adapter];
            if (_policy == "affinity")
            {
                node.Frequency.Touch(key);
            }

            if (!node.Adapters.TryGetValue(adapter, out var resident))
            {
                _loads++;
                if (node.Adapters.Count >= SlotsPerNode)
                {
                    start = Math.Max(start, Evict(node, now));
                }

                node.Adapters[adapter] = resident = new Resident();
                _holders[adapter].Add(index);
                node.ReportedAt = double.NegativeInfinity;
                start += LoadSeconds;
            }

            var end = start + ServiceSeconds;
            resident.LastUsed = ++_clock;
            resident.Ends.Add(end);
            node.LaneFree[lane] = end;
            return end;
        }

        // Makes room on a node as the model host does: the adapter its policy ranks last, waiting for its requests to end
        // if that takes no longer than the host's VictimWait; else the idle adapter its policy ranks last, or, if all are
        // busy, the first to become idle.
        private double Evict(Node node, double now)
        {
            var victim = RankedLast(node, [.. node.Adapters], now);
            var ready = victim.Value.InFlight(now) == 0 ? now : victim.Value.Ends.Max();
            if (ready - now > VictimWait.TotalSeconds)
            {
                var idle = node.Adapters.Where(a => a.Value.InFlight(now) == 0).ToList();
                victim = idle.Count > 0 ? RankedLast(node, idle, now) : node.Adapters.MinBy(a => a.Value.Ends.Max());
                ready = idle.Count > 0 ? now : victim.Value.Ends.Max();
            }

            node.Adapters.Remove(victim.Key);
            _holders[victim.Key].Remove(Array.IndexOf(_nodes, node));
            return ready;
        }

        private KeyValuePair<int, Resident> RankedLast(Node node, List<KeyValuePair<int, Resident>> candidates, double now)
        {
            if (_policy != "affinity")
            {
                return candidates.MinBy(a => a.Value.LastUsed);
            }

            var snapshot = Snapshot(now);
            var chosen = node.Frequency.Victim(candidates.Select(a => (_keys[a.Key], a.Value.LastUsed)), key => new Elsewhere(snapshot.FrequencyElsewhere(key, node.Name)))!;
            return candidates.First(a => _keys[a.Key] == chosen);
        }

        // The directory as nodes last reported it: a node reports every interval, and at once after a load or eviction;
        // it reports its resident adapters and its counts of those it evicted.
        private DirectorySnapshot Snapshot(double now)
        {
            var reporting = _nodes.Where(n => now - n.ReportedAt >= ReportInterval.TotalSeconds).ToList();
            foreach (var node in reporting)
            {
                var resident = node.Adapters.Select(a => new AdapterLoad(_keys[a.Key], true, node.Frequency.Of(_keys[a.Key]), a.Value.InFlight(now), 0, 0, 0, AdapterBytes)).ToList();
                var held = resident.Select(a => a.Key).ToHashSet(StringComparer.Ordinal);
                node.Report = new SiloReport(
                    node.Name,
                    SlotsPerNode,
                    node.QueueDepth(now),
                    [.. resident, .. node.Frequency.Counts.Where(c => !held.Contains(c.Key)).Select(c => new AdapterLoad(c.Key, false, c.Value, 0, 0, 0, 0, 0))],
                    [],
                    default);
                node.ReportedAt = now;
                foreach (var fulfilled in _pending.Where(p => p.Value == node.Name).Select(p => p.Key).ToList())
                {
                    _pending.Remove(fulfilled);
                }
            }

            // The same list while no node has reported again, so that the snapshots share their cluster-wide frequencies.
            if (reporting.Count > 0)
            {
                _reports = [.. _nodes.Select(n => n.Report!)];
            }

            return new DirectorySnapshot(_reports, new Dictionary<string, string>(), _replicas.Replicas, 0, new Dictionary<string, string>(_pending), new HashSet<string>());
        }

        private void UpdateReplicas(double now)
        {
            if (now - _replicasAt < ReportInterval.TotalSeconds)
            {
                return;
            }

            _replicasAt = now;
            _replicas.Update(Snapshot(now), DateTimeOffset.UnixEpoch + TimeSpan.FromSeconds(now));
        }
    }
}
