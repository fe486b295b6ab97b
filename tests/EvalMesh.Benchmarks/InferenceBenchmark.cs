using System.Diagnostics;
using System.Globalization;
using EvalMesh.Abstractions;
using EvalMesh.Evaluation.Formats;
using EvalMesh.Evaluation.Generation;
using EvalMesh.Inference.Llama;
using EvalMesh.Inference.Tiny;
using Microsoft.Extensions.Options;

namespace EvalMesh.Benchmarks;

/// <summary>
/// The local-inference figures on the generated tiny model: prefix reuse, batching, adapter load and swap, memory per
/// adapter, base load. Run: <c>dotnet run -c Release --project tests/EvalMesh.Benchmarks -- inference [load|prefix|batching|adapters|streaming] [--kv-streams]</c>.
/// </summary>
internal static class InferenceBenchmark
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static async Task<int> RunAsync(string[] args)
    {
        var folder = Directory.CreateTempSubdirectory("evalmesh-bench-").FullName;
        try
        {
            var files = TinyModel.Write(folder, seed: 42, adapters: 64);
            var only = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal));
            s_kvUnified = !args.Contains("--kv-streams");
            if (only is null or "load")
            {
                await BaseLoadAsync(files);
            }

            if (only is null or "prefix")
            {
                await PrefixReuseAsync(files, flashAttention: false);
                await PrefixReuseAsync(files, flashAttention: true);
                await PrefixReuseAsync(TinyModel.Write(Path.Combine(folder, "chatml"), seed: 42, adapters: 1, chatTemplate: "chatml"), flashAttention: false, system: "You answer from the records only.");
            }

            if (only is null or "batching")
            {
                await BatchingAsync(files);
            }

            if (only is null or "adapters")
            {
                await AdaptersAsync(files);
            }

            if (only is null or "streaming")
            {
                await StreamingAsync(files);
            }

            return 0;
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    // With --kv-streams every host gives each sequence a KV stream of its own (EvalMesh:ModelHost:KvUnified false).
    private static bool s_kvUnified = true;

    private static ModelHost Host(Action<ModelHostOptions>? configure = null)
    {
        var options = new ModelHostOptions { ContextSize = 16384, MaxBatchSequences = 16, MaxAdapters = 128, KvUnified = s_kvUnified };
        configure?.Invoke(options);
        return new ModelHost(Options.Create(options));
    }

    private static async Task BaseLoadAsync(TinyModelFiles files)
    {
        var times = new List<double>();
        for (var i = 0; i < 5; i++)
        {
            using var host = Host();
            var watch = Stopwatch.StartNew();
            await host.PreloadAsync(files.Model);
            times.Add(watch.Elapsed.TotalMilliseconds);
        }

        Console.WriteLine($"base model load ({new FileInfo(files.Model).Length / 1024} KB): median {Median(times):0.0} ms over 5 loads");
    }

    /// <summary>
    /// 40 questions over one ~4,000-token context, 16 tokens each: decode everything, reuse the prefix, reuse and batch.
    /// With <paramref name="system"/>, each is a system and a user message rendered by the model's own chat template,
    /// so that the head decoded once is the templated one.
    /// </summary>
    private static async Task PrefixReuseAsync(TinyModelFiles files, bool flashAttention, string? system = null)
    {
        var messages = SlackGenerator.Generate(new SlackGeneratorOptions(Messages: 80)).Messages;
        var context = "Records:\n" + RecordFormats.Get("csv").Render(messages) + "\n";
        InferenceRequest Request(int i)
        {
            var prompt = context + $"Question: what is the permalink of message {i}?\nAnswer:";
            return system is null
                ? new InferenceRequest(prompt, new GenerationOptions(16), context.Length)
                : new InferenceRequest([new ChatTurn("system", system), new ChatTurn("user", prompt)], new GenerationOptions(16), context.Length);
        }

        var requests = Enumerable.Range(1, 40).Select(Request).ToList();
        var served = new ModelFiles(files.Model, files.Adapters[0]);
        Console.WriteLine($"\nprefix reuse, flash attention {(flashAttention ? "on" : "off")}{(system is null ? string.Empty : ", a system message and the model's chat template (chatml)")}: 40 questions, 16 tokens each, adapter-1");
        Console.WriteLine("| mode | prompt tokens decoded | wall time | speed-up |");
        Console.WriteLine("|---|---:|---:|---:|");
        double? baseline = null;
        foreach (var (mode, reuse, batched) in new[] { ("decode every prompt", false, false), ("reuse the prefix", true, false), ("reuse the prefix, batch the questions", true, true) })
        {
            using var host = Host(o =>
            {
                o.PrefixReuse = reuse;
                o.FlashAttention = flashAttention;
            });
            await host.InferAsync(served, new InferenceRequest("warm up", requests[0].Options));
            var before = host.Stats.PromptTokensDecoded;
            var watch = Stopwatch.StartNew();
            if (batched)
            {
                await Task.WhenAll(requests.Select(r => host.InferAsync(served, r)));
            }
            else
            {
                foreach (var request in requests)
                {
                    await host.InferAsync(served, request);
                }
            }

            var seconds = watch.Elapsed.TotalSeconds;
            baseline ??= seconds;
            Console.WriteLine(string.Create(Invariant, $"| {mode} | {host.Stats.PromptTokensDecoded - before:N0} | {seconds:0.00} s | {baseline / seconds:0.0}x |"));
        }
    }

    /// <summary>Tokens/s for 1, 4 and 8 concurrent same-adapter requests, batched and one at a time.</summary>
    private static async Task BatchingAsync(TinyModelFiles files)
    {
        Console.WriteLine("\nconcurrent same-adapter requests, 64 tokens each (adapter-1)");
        Console.WriteLine("| concurrent | one at a time | batched | gain |");
        Console.WriteLine("|---:|---:|---:|---:|");
        foreach (var concurrency in new[] { 1, 4, 8 })
        {
            var requests = Enumerable.Range(0, concurrency)
                .Select(i => new InferenceRequest($"Question {i}: which messages in #data-eng mention BigQuery or Airflow?\nAnswer:", new GenerationOptions(64)))
                .ToList();
            var (sequential, batched) = await CompareAsync(new ModelFiles(files.Model, files.Adapters[0]), requests);
            Console.WriteLine(string.Create(Invariant, $"| {concurrency} | {sequential:N0} tok/s | {batched:N0} tok/s | {batched / sequential:0.00}x |"));
        }
    }

    // Rounds alternate between the two hosts so that a noisy neighbour or a clock change hits both alike.
    private static async Task<(double OneAtATime, double Batched)> CompareAsync(ModelFiles served, IReadOnlyList<InferenceRequest> requests)
    {
        using var oneAtATime = Host(o => o.Batching = false);
        using var batched = Host();
        await oneAtATime.InferAsync(served, requests[0]);
        await batched.InferAsync(served, requests[0]);
        var (best1, best2) = (0.0, 0.0);
        for (var round = 0; round < 5; round++)
        {
            best1 = Math.Max(best1, await TokensPerSecondAsync(oneAtATime, served, requests));
            best2 = Math.Max(best2, await TokensPerSecondAsync(batched, served, requests));
        }

        return (best1, best2);
    }

    private static async Task<double> TokensPerSecondAsync(ModelHost host, ModelFiles served, IReadOnlyList<InferenceRequest> requests)
    {
        var watch = Stopwatch.StartNew();
        var results = await Task.WhenAll(requests.Select(r => host.InferAsync(served, r)));
        return results.Sum(r => r.CompletionTokens) / watch.Elapsed.TotalSeconds;
    }

    /// <summary>Streamed completions: how soon the first text arrives against the whole answer, alone and 8 at a time.</summary>
    private static async Task StreamingAsync(TinyModelFiles files)
    {
        Console.WriteLine("\nstreamed completions, 256 tokens each (adapter-1), median of 5 rounds");
        Console.WriteLine("| concurrent | first text | whole answer |");
        Console.WriteLine("|---:|---:|---:|");
        using var host = Host();
        var served = new ModelFiles(files.Model, files.Adapters[0]);
        await host.InferAsync(served, new InferenceRequest("warm up", new GenerationOptions(1)));
        foreach (var concurrency in new[] { 1, 8 })
        {
            var (first, whole) = (new List<double>(), new List<double>());
            for (var round = 0; round < 5; round++)
            {
                await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async i =>
                {
                    var watch = Stopwatch.StartNew();
                    var firstAt = double.NaN;
                    var request = new InferenceRequest($"Question {i}: count the messages in #data-eng.\nAnswer:", new GenerationOptions(256));
                    await foreach (var update in host.StreamAsync(served, request))
                    {
                        firstAt = double.IsNaN(firstAt) && update.Text.Length > 0 ? watch.Elapsed.TotalMilliseconds : firstAt;
                    }

                    lock (first)
                    {
                        first.Add(firstAt);
                        whole.Add(watch.Elapsed.TotalMilliseconds);
                    }
                }));
            }

            Console.WriteLine(string.Create(Invariant, $"| {concurrency} | {Median(first):0.0} ms | {Median(whole):0.0} ms |"));
        }
    }

    /// <summary>Adapter load time, swap time between resident adapters, and resident memory per adapter against its file.</summary>
    private static async Task AdaptersAsync(TinyModelFiles files)
    {
        using var host = Host();
        var loads = new List<double>();
        host.AdapterLoaded += (_, duration) => loads.Add(duration.TotalMilliseconds);
        await host.PreloadAsync(files.Model);
        var one = new GenerationOptions(1);
        await host.InferAsync(new ModelFiles(files.Model), new InferenceRequest("warm up", one));
        GC.Collect();
        var rssBefore = Process.GetCurrentProcess().WorkingSet64;
        foreach (var adapter in files.Adapters)
        {
            await host.PrefetchAsync(new ModelFiles(files.Model, adapter));
        }

        GC.Collect();
        var rssAfter = Process.GetCurrentProcess().WorkingSet64;
        var fileBytes = files.Adapters.Sum(a => new FileInfo(a).Length);
        Console.WriteLine(string.Create(Invariant, $"\nadapter load (validate a private copy, then llama.cpp): median {Median(loads):0.00} ms, p95 {Percentile(loads, 95):0.00} ms over {loads.Count} adapters"));
        Console.WriteLine(string.Create(Invariant, $"resident memory: {(rssAfter - rssBefore) / 1024.0 / files.Adapters.Count:0.0} KB per adapter against {fileBytes / 1024.0 / files.Adapters.Count:0.0} KB of file ({files.Adapters.Count} adapters, RSS delta)"));

        var same = await LatencyAsync(host, Enumerable.Repeat(files.Adapters[0], 40).ToList(), one);
        var alternating = await LatencyAsync(host, Enumerable.Range(0, 40).Select(i => files.Adapters[i % 2]).ToList(), one);
        Console.WriteLine(string.Create(Invariant, $"alternating between two resident adapters: {alternating - same:0.000} ms added per request ({same:0.000} ms same adapter, {alternating:0.000} ms alternating; each adapter has its own context)"));
    }

    private static async Task<double> LatencyAsync(ModelHost host, IReadOnlyList<string> adapters, GenerationOptions options)
    {
        var times = new List<double>();
        foreach (var adapter in adapters)
        {
            var watch = Stopwatch.StartNew();
            await host.InferAsync(new ModelFiles(ModelOf(adapter), adapter), new InferenceRequest("hi", options));
            times.Add(watch.Elapsed.TotalMilliseconds);
        }

        return Median(times);
    }

    private static string ModelOf(string adapter) => Path.Combine(Path.GetDirectoryName(adapter)!, TinyModel.ModelFileName);

    private static double Median(List<double> values) => Percentile(values, 50);

    private static double Percentile(List<double> values, double p) => Evaluation.Statistics.Percentiles.Of(values, p);
}
