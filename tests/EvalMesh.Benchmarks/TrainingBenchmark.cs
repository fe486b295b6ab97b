using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using EvalMesh.Evaluation.Formats;
using EvalMesh.Evaluation.Generation;
using EvalMesh.Inference.Tiny;
using EvalMesh.Training;
using EvalMesh.Training.Kernels;

namespace EvalMesh.Benchmarks;

/// <summary>
/// The built-in trainer's speed on the generated tiny model: training tokens per second (LoRA and full), the CPU's
/// matrix-multiply peak measured with the same TensorPrimitives kernel, and the trainer's share of that peak.
/// Run: <c>dotnet run -c Release --project tests/EvalMesh.Benchmarks -- training</c>.
/// </summary>
internal static class TrainingBenchmark
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static async Task<int> RunAsync(string[] args)
    {
        var messages = args.Length > 0 ? int.Parse(args[0], Invariant) : 12;
        var folder = Directory.CreateTempSubdirectory("evalmesh-train-bench-").FullName;
        try
        {
            var files = TinyModel.Write(folder, seed: 42, adapters: 0);
            var data = Path.Combine(folder, "train.jsonl");
            var examples = WriteExamples(data, count: 32, messages);
            var (peakOne, peakAll) = (MatMulPeak(threads: 1), MatMulPeak(threads: Environment.ProcessorCount));
            Console.WriteLine(string.Create(Invariant,
                $"matrix-multiply peak (the trainer's MatMul.ABt on TensorPrimitives.Dot, 512×512×512, float): {peakOne.PerCpuSecond:0.0} GFLOP per CPU-second; wall {peakOne.Wall:0.0} GFLOP/s on 1 thread, {peakAll.Wall:0.0} GFLOP/s on {Environment.ProcessorCount}"));
            Console.WriteLine(string.Create(Invariant, $"training data: {examples} chat examples of Slack records ({messages} messages each) in csv, one question each, in the tiny model's own tokens"));
            Console.WriteLine("figures are the difference between a 3-epoch and a 1-epoch job (loading, tokenizing and writing cancel out); CPU time counts only what this process got on a shared machine");
            Console.WriteLine();
            Console.WriteLine("| mode | tokens / example | scored / example | tokens/s (wall) | tokens per CPU-second | GFLOP per CPU-second | share of the 1-thread peak |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
            foreach (var mode in new[] { TrainingMode.Lora, TrainingMode.Full })
            {
                var job = new TrainingJob(files.Model, data, Path.Combine(folder, $"{mode}.gguf")) { Mode = mode, Settings = new() { Epochs = 1, BatchSize = 8, Rank = 8, Alpha = 16, MaxSequenceLength = 2048 } };
                await new BuiltInTrainer().TrainAsync(job);
                var one = await MeasureAsync(job);
                var three = await MeasureAsync(job with { Settings = job.Settings with { Epochs = 3 } });
                var epoch = EpochFlops(files.Model, data, mode, rank: 8);
                var (wall, cpu) = (three.Wall - one.Wall, three.Cpu - one.Cpu);
                var perCpuSecond = 2 * epoch.Flops / cpu / 1e9;
                Console.WriteLine(string.Create(Invariant,
                    $"| {mode.ToString().ToLowerInvariant()} | {epoch.Tokens / (double)examples:0} | {epoch.Scored / (double)examples:0} | {2 * epoch.Tokens / wall:N0} | {2 * epoch.Tokens / cpu:N0} | {perCpuSecond:0.0} | {perCpuSecond / peakOne.PerCpuSecond:P0} |"));
            }

            return 0;
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>
    /// The multiply-adds (×2) of one epoch's forward and backward passes, counted from the shapes: the block matrices,
    /// the adapters, causal attention (half the square), the output projection at the scored positions. LoRA's backward
    /// pass skips the frozen weights' gradients and the first block's input gradient.
    /// </summary>
    private static (double Flops, long Tokens, long Scored) EpochFlops(string model, string data, TrainingMode mode, int rank)
    {
        var config = EvalMesh.Training.Model.BaseModel.Load(model).Config;
        using var vocabulary = EvalMesh.Training.Data.TrainingVocabulary.Load(model);
        var set = EvalMesh.Training.Data.TrainingSet.Load(data, vocabulary, m => EvalMesh.Inference.Endpoints.ChatPrompt.Render(m), 2048, CancellationToken.None);
        var (d, f, v, blocks) = ((double)config.Embedding, (double)config.FeedForward, (double)config.Vocabulary, (double)config.Blocks);
        var total = 0.0;
        foreach (var sequence in set.Sequences)
        {
            var (n, m) = ((double)sequence.InputLength, (double)sequence.ScoredTokens);
            var linear = 2 * n * ((4 * d * d) + (3 * d * f));
            var adapters = 2 * n * rank * ((4 * 2 * d) + (3 * (d + f)));
            var attention = 2 * d * n * (n + 1);
            var output = 2 * m * v * d;
            total += mode == TrainingMode.Full
                ? (blocks * 3 * (linear + attention)) + (3 * output)
                : (blocks * (2 * linear + 3 * adapters + 3 * attention)) - (2 * n * 3 * d * d) + (2 * output);
        }

        return (total, set.InputTokens, set.Sequences.Sum(s => (long)s.ScoredTokens));
    }

    private static int WriteExamples(string path, int count, int messages)
    {
        using var writer = new StreamWriter(path);
        for (var i = 0; i < count; i++)
        {
            var dataset = SlackGenerator.Generate(new SlackGeneratorOptions(Messages: messages, Seed: 100 + i));
            var question = dataset.Suite.Cases[i % dataset.Suite.Cases.Count];
            var prompt = "Records:\n" + RecordFormats.Get("csv").Render(dataset.Messages) + $"\nQuestion: {question.Question}\nAnswer:";
            var example = new { messages = new object[] { new { role = "user", content = prompt }, new { role = "assistant", content = string.Join(", ", question.Expected) } } };
            writer.WriteLine(JsonSerializer.Serialize(example));
        }

        return count;
    }

    private static async Task<(double Wall, double Cpu)> MeasureAsync(TrainingJob job)
    {
        var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var watch = Stopwatch.StartNew();
        await new BuiltInTrainer().TrainAsync(job);
        process.Refresh();
        return (watch.Elapsed.TotalSeconds, (process.TotalProcessorTime - cpu).TotalSeconds);
    }

    // C = A Bᵀ for 512×512 matrices with the trainer's own kernel, rows split over the threads; the best of five runs,
    // by wall time and by the CPU time the process got.
    private static (double Wall, double PerCpuSecond) MatMulPeak(int threads)
    {
        const int N = 512;
        var random = new Random(1);
        var a = Enumerable.Range(0, N * N).Select(_ => (float)random.NextDouble()).ToArray();
        var b = Enumerable.Range(0, N * N).Select(_ => (float)random.NextDouble()).ToArray();
        var c = new float[N * N];
        var (best, bestCpu) = (double.MaxValue, double.MaxValue);
        var process = Process.GetCurrentProcess();
        for (var run = 0; run < 6; run++)
        {
            process.Refresh();
            var cpu = process.TotalProcessorTime;
            var watch = Stopwatch.StartNew();
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
            {
                var (first, last) = (N * t / threads, N * (t + 1) / threads);
                MatMul.ABt<float>(a.AsSpan(first * N, (last - first) * N), b, c.AsSpan(first * N, (last - first) * N), last - first, N, N, accumulate: false);
            });
            process.Refresh();
            if (run > 0)
            {
                best = Math.Min(best, watch.Elapsed.TotalSeconds);
                bestCpu = Math.Min(bestCpu, (process.TotalProcessorTime - cpu).TotalSeconds);
            }
        }

        var flops = 2.0 * N * N * N;
        return (flops / best / 1e9, flops / bestCpu / 1e9);
    }
}
