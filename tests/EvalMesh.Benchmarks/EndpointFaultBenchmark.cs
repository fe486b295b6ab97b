using System.Diagnostics;
using System.Globalization;
using EvalMesh.Abstractions;
using EvalMesh.Evaluation.Configuration;
using EvalMesh.Testing;

namespace EvalMesh.Benchmarks;

/// <summary>
/// Throughput of an eval run against an OpenAI-compatible endpoint when one answer in five is a 429 (with
/// <c>Retry-After: 0</c>, then <c>Retry-After: 1</c>), against the same run fault-free. The endpoint (on loopback)
/// answers after 20 ms, like a fast hosted model; the run is 1,200 cells on one in-process silo, 16 requests at a time.
/// Run: <c>dotnet run -c Release --project tests/EvalMesh.Benchmarks -- endpoint-faults</c>.
/// </summary>
internal static class EndpointFaultBenchmark
{
    public static async Task<int> RunAsync()
    {
        await using var endpoint = await ScriptedOpenAiServer.StartAsync();
        await using var cluster = new EvalMeshTestCluster(1, 0, null);
        await cluster.InitializeAsync();
        Console.WriteLine("| endpoint | cells | errors | 429s answered | wall | cells/s |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        var rates = new List<double>();
        // The first run warms up (JIT, the dataset's renderings) and is not shown.
        foreach (var (retryAfter, shown) in new (string?, bool)[] { (null, false), (null, true), ("0", true), ("1", true) })
        {
            var rateLimited = retryAfter is not null;
            var answers = 0;
            var throttled = 0;
            endpoint.Default = context =>
            {
                if (rateLimited && Interlocked.Increment(ref answers) % 5 == 0)
                {
                    Interlocked.Increment(ref throttled);
                    return ScriptedOpenAiServer.Status(429, retryAfter)(context);
                }

                return ScriptedOpenAiServer.SlowCompletion("OK", TimeSpan.FromMilliseconds(20))(context);
            };
            var config = ConfigLoader.Parse($$"""
                datasets:
                  - name: d
                    generate: { kind: slack, messages: 12, seed: 1, cases-per-category: 20 }
                suites:
                  - name: s
                    dataset: d
                    generated: true
                formats: [csv, oneline-json, toon]
                endpoints:
                  - name: remote
                    type: openai
                    base-url: {{endpoint.BaseUrl}}
                    model: scripted
                    max-concurrency: 16
                repeats: 4
                concurrency: 16
                """, "endpoint-faults.yaml");
            var clock = Stopwatch.StartNew();
            var started = await cluster.Client.StartRunAsync(config);
            RunStatus status = null!;
            await Poll.UntilAsync(async () => (status = await cluster.Client.GetRunAsync(started.RunId)).IsFinished, TimeSpan.FromMinutes(10), "the run to finish");
            var seconds = clock.Elapsed.TotalSeconds;
            if (!shown)
            {
                continue;
            }

            rates.Add(status.Total / seconds);
            await foreach (var error in cluster.Client.GetResultsAsync(started.RunId))
            {
                if (error.Outcome == CellOutcome.Error)
                {
                    Console.WriteLine($"error: {error.Reason}");
                }
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {(rateLimited ? $"20% 429s, Retry-After: {retryAfter}" : "fault-free")} | {status.Total:N0} | {status.Errors} | {throttled:N0} | {seconds:0.0} s | {status.Total / seconds:0.0} |"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"endpoint-faults: fault_free={rates[0]:0.0} retry_after_0={rates[1]:0.0} ({rates[1] / rates[0]:P0}) retry_after_1={rates[2]:0.0} ({rates[2] / rates[0]:P0}) cells/s"));
        return 0;
    }
}
