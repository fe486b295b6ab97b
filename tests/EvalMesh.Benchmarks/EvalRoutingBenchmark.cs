using System.Diagnostics;
using System.Globalization;
using EvalMesh.Abstractions;
using EvalMesh.Evaluation.Configuration;
using EvalMesh.Grains.Routing;
using EvalMesh.Inference.Llama;
using EvalMesh.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace EvalMesh.Benchmarks;

/// <summary>
/// Adapter loads of a whole eval run: four in-process silos with two adapter slots each (8 slots), one run over 16
/// tiny adapters × 2 suites × 2 formats, scheduled adapter-aware against the naive shard order (<c>schedule: fifo</c>). The goal
/// is that the adapter-aware run loads each adapter exactly once per silo that serves it.
/// Run: <c>dotnet run -c Release --project tests/EvalMesh.Benchmarks -- eval-routing</c>.
/// </summary>
internal static class EvalRoutingBenchmark
{
    private const int Silos = 4;
    private const int Adapters = 16;
    private const int SlotsPerSilo = 2;

    public static async Task<int> RunAsync()
    {
        Console.WriteLine($"{Silos} silos × {SlotsPerSilo} adapter slots, one run over {Adapters} adapters × 2 suites × 2 formats");
        Console.WriteLine("| schedule | cells | adapter loads | (adapter, silo) pairs served | loads per pair | wall |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        var line = new List<string>();
        foreach (var schedule in new[] { "adapter-aware", "fifo" })
        {
            var (cells, loads, pairs, seconds) = await RunAsync(schedule);
            line.Add(string.Create(CultureInfo.InvariantCulture, $"{schedule}_loads={loads} {schedule}_pairs={pairs}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {schedule} | {cells} | {loads} | {pairs} | {(double)loads / pairs:0.00} | {seconds:0.0} s |"));
        }

        Console.WriteLine($"eval-routing: {string.Join(' ', line)}");
        return 0;
    }

    private static async Task<(int Cells, long Loads, int Pairs, double Seconds)> RunAsync(string schedule)
    {
        await using var cluster = new EvalMeshTestCluster(Silos, Adapters, services =>
        {
            services.Configure<ModelHostOptions>(o =>
            {
                o.MaxAdapters = SlotsPerSilo;
                o.MaxContexts = SlotsPerSilo;
                o.ContextSize = 2048;
            });
            services.Configure<AdapterAffinityPlacementOptions>(o => o.ReportInterval = TimeSpan.FromMilliseconds(50));
        });
        await cluster.InitializeAsync();
        var endpoints = string.Join('\n', Enumerable.Range(1, Adapters).Select(i => $"""
              - name: a{i}
                type: llama
                model: tiny-random
                adapter: {cluster.Tiny.Adapters[i - 1]}
                max-tokens: 2
            """));
        var config = ConfigLoader.Parse($"""
            datasets:
              - name: monday
                generate: {"{"} kind: slack, messages: 12, seed: 3, cases-per-category: 2 {"}"}
              - name: tuesday
                generate: {"{"} kind: slack, messages: 12, seed: 4, cases-per-category: 2 {"}"}
            suites:
              - name: monday
                dataset: monday
                generated: true
              - name: tuesday
                dataset: tuesday
                generated: true
            formats: [csv, toon]
            endpoints:
            {endpoints}
            repeats: 1
            concurrency: 8
            schedule: {schedule}
            """, "eval-routing.yaml");

        var watch = Stopwatch.StartNew();
        var started = await cluster.Client.StartRunAsync(config);
        RunStatus status = null!;
        await Poll.UntilAsync(async () => (status = await cluster.Client.GetRunAsync(started.RunId)).IsFinished, TimeSpan.FromMinutes(10), $"the {schedule} run to finish");

        var seconds = watch.Elapsed.TotalSeconds;
        var pairs = new HashSet<(string, string?)>();
        await foreach (var result in cluster.Client.GetResultsAsync(started.RunId))
        {
            if (result.Outcome == CellOutcome.Error)
            {
                throw new InvalidOperationException($"the {schedule} run ended {status.State} with {status.Errors} errors, e.g. {result.Endpoint}: {result.Reason}");
            }

            pairs.Add((result.Endpoint, result.Silo));
        }

        return (status.Total, await ClusterLoads.AfterAsync(cluster.Client, Silos), pairs.Count, seconds);
    }
}
