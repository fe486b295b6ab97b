using System.Diagnostics;
using System.Globalization;
using EvalMesh.Abstractions;
using EvalMesh.Client;
using EvalMesh.Grains.Routing;
using EvalMesh.Inference.Llama;
using EvalMesh.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace EvalMesh.Benchmarks;

/// <summary>
/// Adapter routing on a live four-silo in-process cluster with 64 generated tiny adapters and gateway-style requests
/// whose adapter popularity is Zipf(1.0): adapter-affinity routing against random placement and round-robin (each
/// silo evicting LRU), with a popularity oracle and Belady's optimum as lower bounds.
/// Run: <c>dotnet run -c Release --project tests/EvalMesh.Benchmarks -- routing [scarce|ample] [affinity|random|round-robin]</c>
/// (by default every regime and policy), or <c>-- routing seeds [N] [IN-FLIGHT]</c> for the scarce regime's affinity
/// loads on N other traces (10 by default; 16 requests in flight by default) against each trace's oracle and ideal LFU.
/// </summary>
internal static class RoutingBenchmark
{
    private const int Silos = 4;
    private const int Adapters = 64;
    private const int Requests = 2000;
    private const int Concurrency = 16;
    private static readonly string[] Policies = ["affinity", "random", "round-robin"];

    private sealed record Outcome(string Policy, long Loads, double HitRate, double P50, double P95, double Seconds);

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.FirstOrDefault() == "seeds")
        {
            await AcrossSeedsAsync(
                args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 10,
                args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : Concurrency);
            return 0;
        }

        var trace = RoutingTrace.Zipf(Adapters, Requests, exponent: 1.0, seed: 2026);
        var summary = new Dictionary<string, long>();
        foreach (var (regime, perSilo) in new[] { ("scarce", 8), ("ample", 16) }.Where(r => args.Length < 1 || args[0] == r.Item1))
        {
            Console.WriteLine($"\n{regime}: {Adapters} adapters, {perSilo} slots per silo ({perSilo * Silos} in all), {Requests} requests, Zipf(1.0), {Concurrency} in flight");
            Console.WriteLine("| policy | adapter loads | hit rate | p50 ms | p95 ms | wall |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|");
            foreach (var policy in Policies.Where(p => args.Length < 2 || args[1] == p))
            {
                var outcome = await RunPolicyAsync(policy, perSilo, trace, Concurrency);
                summary[$"{regime}_{policy}"] = outcome.Loads;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {policy} | {outcome.Loads} | {outcome.HitRate:P1} | {outcome.P50:0.0} | {outcome.P95:0.0} | {outcome.Seconds:0.0} s |"));
            }

            var oracle = RoutingTrace.PopularityOracle(trace, perSilo * Silos);
            var belady = RoutingTrace.Belady(trace, perSilo * Silos);
            var lfu = RoutingTrace.IdealLfu(trace, perSilo * Silos);
            summary[$"{regime}_oracle"] = oracle;
            summary[$"{regime}_belady"] = belady;
            summary[$"{regime}_lfu"] = lfu;
            Console.WriteLine($"| popularity oracle (one cache of {perSilo * Silos}) | {oracle} | {1 - ((double)oracle / Requests):P1} | | | |");
            Console.WriteLine($"| Belady's optimum (one cache of {perSilo * Silos}) | {belady} | {1 - ((double)belady / Requests):P1} | | | |");
            Console.WriteLine($"| ideal LFU, exact counts (one cache of {perSilo * Silos}) | {lfu} | {1 - ((double)lfu / Requests):P1} | | | |");

            // How much learning popularities online costs in general, not just on this trace.
            var ratios = Enumerable.Range(1, 20).Select(seed => RoutingTrace.Zipf(Adapters, Requests, 1.0, seed))
                .Select(t => (double)RoutingTrace.IdealLfu(t, perSilo * Silos) / RoutingTrace.PopularityOracle(t, perSilo * Silos)).ToList();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ideal LFU / oracle on this trace: {(double)lfu / oracle:0.000}; on 20 other seeds: mean {ratios.Average():0.000}, {ratios.Min():0.000}-{ratios.Max():0.000}"));
        }

        Console.WriteLine($"routing: {string.Join(' ', summary.Select(p => $"{p.Key}={p.Value}"))}");
        return 0;
    }

    // The scarce regime's figure is one trace's; this shows how the cluster compares with the oracle and the ideal LFU
    // on others.
    private static async Task AcrossSeedsAsync(int seeds, int inFlight)
    {
        const int Slots = 8;
        Console.WriteLine($"\nscarce, affinity, {seeds} other traces: {Adapters} adapters, {Slots} slots per silo, {Requests} requests, Zipf(1.0), {inFlight} in flight");
        Console.WriteLine("| seed | affinity loads | oracle | ideal LFU | affinity / oracle | affinity / ideal LFU |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|");
        var (toOracle, toLfu) = (new List<double>(), new List<double>());
        for (var seed = 1; seed <= seeds; seed++)
        {
            var trace = RoutingTrace.Zipf(Adapters, Requests, 1.0, seed);
            var loads = (await RunPolicyAsync("affinity", Slots, trace, inFlight)).Loads;
            var (oracle, lfu) = (RoutingTrace.PopularityOracle(trace, Slots * Silos), RoutingTrace.IdealLfu(trace, Slots * Silos));
            toOracle.Add((double)loads / oracle);
            toLfu.Add((double)loads / lfu);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {seed} | {loads} | {oracle} | {lfu} | {toOracle[^1]:0.000} | {toLfu[^1]:0.000} |"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"routing-seeds: affinity/oracle mean {toOracle.Average():0.000} ({toOracle.Min():0.000}-{toOracle.Max():0.000}), affinity/lfu mean {toLfu.Average():0.000} ({toLfu.Min():0.000}-{toLfu.Max():0.000})"));
    }

    private static async Task<Outcome> RunPolicyAsync(string policy, int perSilo, int[] trace, int inFlight)
    {
        await using var cluster = new EvalMeshTestCluster(Silos, Adapters, services =>
        {
            services.Configure<ModelHostOptions>(o =>
            {
                o.MaxAdapters = perSilo;
                o.MaxContexts = perSilo;
                o.ContextSize = 1024;
                o.Eviction = policy == "affinity" ? EvictionPolicy.Frequency : EvictionPolicy.Lru;
            });
            services.Configure<AdapterAffinityPlacementOptions>(o => o.ReportInterval = TimeSpan.FromMilliseconds(50));
        });
        await cluster.InitializeAsync();
        var silos = cluster.Cluster.Silos.Select(s => s.SiloAddress.ToParsableString()).ToArray();
        var keys = cluster.Tiny.Adapters.Select(a => AdapterKey.Of("tiny-random", a)).ToArray();
        var router = new AdapterRouter(cluster.Cluster.Client);
        var call = new InferenceRequest("Which messages mention BigQuery?", new GenerationOptions(4));
        var latencies = new double[trace.Length];
        var next = -1;
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, inFlight).Select(async worker =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < trace.Length)
            {
                var started = Stopwatch.GetTimestamp();
                var key = keys[trace[i]];
                _ = policy switch
                {
                    "affinity" => await router.InferAsync(key, call),
                    "random" => await Agent(cluster, silos[Random.Shared.Next(silos.Length)]).InferAsync(key, call, stream: false).ReplyAsync(),
                    _ => await Agent(cluster, silos[i % silos.Length]).InferAsync(key, call, stream: false).ReplyAsync(),
                };
                latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }
        }));
        var seconds = watch.Elapsed.TotalSeconds;

        var loads = await ClusterLoads.AfterAsync(cluster.Client, Silos);
        var sorted = latencies.Order().ToArray();
        return new Outcome(policy, loads, 1 - ((double)loads / trace.Length), sorted[sorted.Length / 2], sorted[(int)(sorted.Length * 0.95)], seconds);
    }

    private static ISiloAgentGrain Agent(EvalMeshTestCluster cluster, string silo) => cluster.Cluster.Client.GetSiloAgent(silo);
}
