using System.Diagnostics;
using System.Globalization;
using EvalMesh.Abstractions;
using EvalMesh.Evaluation.Scoring;
using EvalMesh.Evaluation.Statistics;
using EvalMesh.Inference.Llama;
using EvalMesh.Inference.Tiny;
using EvalMesh.Training.Recipes;
using Microsoft.Extensions.Options;

namespace EvalMesh.Benchmarks;

/// <summary>
/// The recipe's model's accuracy, measured as a run measures it: held-out generator seeds, the recipe's prompts (the
/// seed experiment's template), greedy decoding by the real llama.cpp model host with the context declared as the
/// shared prefix, answers scored by the url-set scorer. Per format and category, with Wilson intervals; with an
/// adapter, paired against the base by an exact McNemar test.
/// Run: <c>dotnet run -c Release --project tests/EvalMesh.Benchmarks -- tiny-accuracy [--model M] [--adapter A]
/// [--seeds 100-119] [--cases-per-category 4] [--max-tokens 256]</c>; <c>tiny-data</c> prints token counts;
/// <c>tiny-train --out DIR</c> runs the recipe and prints how long it took; <c>copy-probe [--decoys N] [--examples N]</c>
/// trains the recipe's shape to pick one permalink by number among N + 1 listed alone, and prints its held-out accuracy.
/// </summary>
internal static class TinyAccuracyBenchmark
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static async Task<int> RunAsync(string mode, string[] args)
    {
        var options = Options(args);
        var recipe = Recipe(options);
        switch (mode)
        {
            case "tiny-data":
                Data(recipe, options);
                return 0;
            case "tiny-train":
                await TrainAsync(recipe, options);
                return 0;
            case "copy-probe":
                await CopyProbeAsync(recipe, options);
                return 0;
            default:
                await AccuracyAsync(recipe, options);
                return 0;
        }
    }

    private static Dictionary<string, string> Options(string[] args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            options[args[i].TrimStart('-')] = args[i + 1];
        }

        return options;
    }

    private static int Int(Dictionary<string, string> o, string key, int fallback) => o.TryGetValue(key, out var v) ? int.Parse(v, Invariant) : fallback;

    private static float Float(Dictionary<string, string> o, string key, float fallback) => o.TryGetValue(key, out var v) ? float.Parse(v, Invariant) : fallback;

    private static TinyRecipe Recipe(Dictionary<string, string> o)
    {
        var recipe = new TinyRecipe();
        var shape = recipe.Shape with
        {
            Embedding = Int(o, "embedding", recipe.Shape.Embedding),
            Blocks = Int(o, "blocks", recipe.Shape.Blocks),
            Heads = Int(o, "heads", recipe.Shape.Heads),
            FeedForward = Int(o, "feed-forward", recipe.Shape.FeedForward),
            VocabularySize = Int(o, "vocabulary", recipe.Shape.VocabularySize),
            DigitRun = Int(o, "digit-run", recipe.Shape.DigitRun),
            CorpusSeeds = Int(o, "corpus-seeds", recipe.Shape.CorpusSeeds),
        };
        return recipe with
        {
            Shape = shape,
            RecordsPerCase = Int(o, "k", recipe.RecordsPerCase),
            Stages = o.TryGetValue("stages", out var stages) ? [.. stages.Split(',').Select(Stage)] : recipe.Stages,
            LearningRate = Float(o, "learning-rate", recipe.LearningRate),
            BatchSize = Int(o, "batch", recipe.BatchSize),
            Threads = o.TryGetValue("threads", out var t) ? int.Parse(t, Invariant) : recipe.Threads,
            Adapters = o.TryGetValue("adapters", out var a) && a == "none" ? [] : recipe.Adapters,
            Formats = o.TryGetValue("formats", out var f) ? f.Split('+') : recipe.Formats,
        };
    }

    // name:seeds:categories (joined by '+', or 'all'):k:cases-per-category
    private static TinyStage Stage(string text)
    {
        var parts = text.Split(':');
        return new TinyStage(parts[0], int.Parse(parts[1], Invariant), parts[2] == "all" ? EvalMesh.Evaluation.Generation.SlackGenerator.Categories : parts[2].Split('+'), int.Parse(parts[3], Invariant), int.Parse(parts[4], Invariant));
    }

    private static IEnumerable<int> Seeds(Dictionary<string, string> o)
    {
        var text = o.GetValueOrDefault("seeds", "100-104");
        return text.Split(',').SelectMany(part => part.Contains('-', StringComparison.Ordinal)
            ? Enumerable.Range(int.Parse(part.Split('-')[0], Invariant), int.Parse(part.Split('-')[1], Invariant) - int.Parse(part.Split('-')[0], Invariant) + 1)
            : [int.Parse(part, Invariant)]);
    }

    private static void Data(TinyRecipe recipe, Dictionary<string, string> o)
    {
        var folder = Directory.CreateTempSubdirectory("evalmesh-tiny-data-").FullName;
        try
        {
            var watch = Stopwatch.StartNew();
            var model = TinyModel.WriteInitial(folder, 1, recipe.Shape);
            Console.WriteLine($"initial model written in {watch.Elapsed.TotalSeconds:0.0} s");
            using var vocabulary = EvalMesh.Training.Data.TrainingVocabulary.Load(model);
            var categories = o.TryGetValue("categories", out var c) ? c.Split('+') : EvalMesh.Evaluation.Generation.SlackGenerator.Categories;
        var examples = recipe.HeldOutExamples(Seeds(o), Int(o, "cases-per-category", 4)).Where(e => categories.Contains(e.Category)).ToList();
            Console.WriteLine($"shape {recipe.Shape}, k {recipe.RecordsPerCase}, {examples.Count} questions");
            Console.WriteLine("| format | category | records | prompt tokens (mean) | prompt tokens (max) | answer tokens (mean) | answer tokens (max) |");
            Console.WriteLine("|---|---|---:|---:|---:|---:|---:|");
            foreach (var group in examples.GroupBy(e => (e.Format, e.Category)))
            {
                var sequences = group.Select(e => (Example: e, Tokens: vocabulary.Sequence(e.Prompt.Text, e.Answer))).ToList();
                Console.WriteLine(string.Create(Invariant,
                    $"| {group.Key.Format} | {group.Key.Category} | {group.Average(e => e.Expected.Count):0.0} | {sequences.Average(s => s.Tokens.AnswerStart):0} | {sequences.Max(s => s.Tokens.AnswerStart)} | {sequences.Average(s => s.Tokens.ScoredTokens):0} | {sequences.Max(s => s.Tokens.ScoredTokens)} |"));
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static async Task TrainAsync(TinyRecipe recipe, Dictionary<string, string> o)
    {
        var folder = o.GetValueOrDefault("out", Path.Combine(Path.GetTempPath(), "evalmesh-tiny-train"));
        var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var last = Stopwatch.StartNew();
        Console.WriteLine($"recipe: {recipe}");
        var result = await TinyTraining.TrainAsync(recipe, folder, new InlineProgress(p =>
        {
            if (last.Elapsed.TotalSeconds >= 20 || p.Progress.Step == p.Progress.TotalSteps || p.Progress.ValidationLoss is not null && p.Progress.Step == 0)
            {
                last.Restart();
                Console.WriteLine(string.Create(Invariant,
                    $"{p.Stage} step {p.Progress.Step}/{p.Progress.TotalSteps} loss {p.Progress.TrainLoss:0.000} validation {p.Progress.ValidationLoss:0.000} {p.Progress.TokensPerSecond:0} tok/s {p.Progress.Elapsed:hh\\:mm\\:ss} load {LoadAverage()}"));
            }
        }));
        process.Refresh();
        Console.WriteLine(string.Create(Invariant, $"trained in {result.Elapsed:hh\\:mm\\:ss} wall, {(process.TotalProcessorTime - cpu).TotalMinutes:0.0} CPU-minutes"));
        foreach (var (stage, trained) in recipe.Stages.Zip(result.Stages))
        {
            Console.WriteLine(string.Create(Invariant,
                $"{stage.Name}: {trained.Examples} questions ({trained.SkippedExamples} too long), {trained.Steps} steps, {trained.Tokens:N0} tokens, validation loss {trained.InitialValidationLoss:0.000} → {trained.FinalValidationLoss:0.000}"));
        }

        foreach (var file in result.Files.Adapters.Prepend(result.Files.Model))
        {
            Console.WriteLine($"{file}\t{new FileInfo(file).Length:N0} bytes");
        }
    }

    // Can the shape learn to copy a permalink, and to pick one among a few by number? Short prompts holding only the
    // permalink and decoys, answer = the one asked for; then greedy answers to new lists (of the same permalinks), by the
    // number asked.
    private static async Task CopyProbeAsync(TinyRecipe recipe, Dictionary<string, string> o)
    {
        var folder = Directory.CreateTempSubdirectory("evalmesh-copy-probe-").FullName;
        var model = TinyModel.WriteInitial(folder, 1, recipe.Shape);
        var decoys = Int(o, "decoys", 0);
        var data = Path.Combine(folder, "copy.jsonl");
        var links = Enumerable.Range(1000, 200).SelectMany(s => EvalMesh.Evaluation.Generation.SlackGenerator.Generate(new(100, s, 0)).Messages.Select(m => m["permalink"]!.GetValue<string>())).ToList();
        (string Prompt, string Target, int Number) Probe(Random random)
        {
            var target = links[random.Next(links.Count)];
            var shown = Enumerable.Range(0, decoys).Select(_ => links[random.Next(links.Count)]).Append(target).OrderBy(_ => random.Next()).ToList();
            var number = shown.IndexOf(target) + 1;
            return ("Links:\n" + string.Join("\n", shown) + $"\nWhich link is number {number}?\nAnswer:\n", target, number);
        }

        var training = new Random(5);
        using (var writer = new StreamWriter(data))
        {
            for (var i = 0; i < Int(o, "examples", 4000); i++)
            {
                var (prompt, target, _) = Probe(training);
                writer.WriteLine(System.Text.Json.JsonSerializer.Serialize(new { messages = new object[] { new { role = "user", content = prompt }, new { role = "assistant", content = target } } }));
            }
        }

        var job = new EvalMesh.Training.TrainingJob(model, data, Path.Combine(folder, "out.gguf"))
        {
            Mode = EvalMesh.Training.TrainingMode.Full, Settings = new() { Epochs = 1, BatchSize = recipe.BatchSize, LearningRate = recipe.LearningRate, Seed = 1, MaxSequenceLength = 2048 }, WarmupFraction = 0.03f, WeightDecay = 0.01f,
        };
        var last = Stopwatch.StartNew();
        await new EvalMesh.Training.BuiltInTrainer().TrainAsync(job, new InlineTrainingProgress(p =>
        {
            if (last.Elapsed.TotalSeconds >= 10 || p.Step == p.TotalSteps)
            {
                last.Restart();
                Console.WriteLine(string.Create(Invariant, $"step {p.Step}/{p.TotalSteps} loss {p.TrainLoss:0.000} {p.TokensPerSecond:0} tok/s"));
            }
        }));

        var heldOut = new Random(6);
        var probes = Enumerable.Range(0, Int(o, "probes", 200)).Select(_ => Probe(heldOut)).ToList();
        using (var host = new ModelHost(Microsoft.Extensions.Options.Options.Create(new ModelHostOptions { ContextSize = 4096, MaxBatchSequences = 8 })))
        {
            var passed = new bool[probes.Count];
            await Parallel.ForEachAsync(Enumerable.Range(0, probes.Count), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
            {
                var reply = await host.InferAsync(new ModelFiles(job.Output, null), new InferenceRequest(probes[i].Prompt, new GenerationOptions(128), 0), ct);
                passed[i] = reply.Text.Trim() == probes[i].Target;
            });
            foreach (var number in probes.Select(p => p.Number).Distinct().Order())
            {
                var asked = Enumerable.Range(0, probes.Count).Where(i => probes[i].Number == number).ToList();
                var interval = WilsonInterval.Compute(asked.Count(i => passed[i]), asked.Count);
                Console.WriteLine(string.Create(Invariant, $"number {number} of {decoys + 1}: {interval.Proportion:P0} ({interval.Lower:P0}–{interval.Upper:P0}) of {asked.Count} new lists answered exactly"));
            }
        }

        Directory.Delete(folder, recursive: true);
    }

    private sealed class InlineTrainingProgress(Action<EvalMesh.Training.TrainingProgress> report) : IProgress<EvalMesh.Training.TrainingProgress>
    {
        public void Report(EvalMesh.Training.TrainingProgress value) => report(value);
    }

    private static async Task AccuracyAsync(TinyRecipe recipe, Dictionary<string, string> o)
    {
        var model = o.GetValueOrDefault("model", Path.Combine(Path.GetTempPath(), "evalmesh-tiny-train", TinyModel.ModelFileName));
        var adapter = o.GetValueOrDefault("adapter");
        var maxTokens = Int(o, "max-tokens", 256);
        var categories = o.TryGetValue("categories", out var c) ? c.Split('+') : EvalMesh.Evaluation.Generation.SlackGenerator.Categories;
        var examples = recipe.HeldOutExamples(Seeds(o), Int(o, "cases-per-category", 4)).Where(e => categories.Contains(e.Category)).ToList();
        using var host = new ModelHost(Microsoft.Extensions.Options.Options.Create(new ModelHostOptions { ContextSize = 16384, MaxBatchSequences = 8, KvUnified = !o.ContainsKey("kv-streams") }));
        var watch = Stopwatch.StartNew();
        var basePassed = await ScoreAsync(host, new ModelFiles(model, null), examples, maxTokens);
        Console.WriteLine(string.Create(Invariant, $"{examples.Count} questions, k {recipe.RecordsPerCase}, seeds {o.GetValueOrDefault("seeds", "100-104")}, greedy, max {maxTokens} tokens, {watch.Elapsed.TotalSeconds:0} s"));
        Print("base", examples, basePassed);
        if (adapter is not null)
        {
            var adapted = await ScoreAsync(host, new ModelFiles(model, adapter), examples, maxTokens);
            Print(Path.GetFileNameWithoutExtension(adapter), examples, adapted);
            Console.WriteLine("| format | adapter only | base only | exact McNemar p |");
            Console.WriteLine("|---|---:|---:|---:|");
            foreach (var format in TinyRecipe.SeedExperimentFormats)
            {
                var pairs = examples.Select((e, i) => (e, i)).Where(x => x.e.Format == format).Select(x => (adapted[x.i], basePassed[x.i])).ToList();
                var test = McNemarTest.Compute(pairs);
                Console.WriteLine(string.Create(Invariant, $"| {format} | {test.OnlyFirstPassed} | {test.OnlySecondPassed} | {test.PValue:0.0000} |"));
            }
        }
    }

    private static async Task<bool[]> ScoreAsync(ModelHost host, ModelFiles files, List<TinyExample> examples, int maxTokens)
    {
        var scorer = new UrlSetScorer(null);
        var passed = new bool[examples.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, examples.Count), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
        {
            var example = examples[i];
            // Each question has its own records, so a run declares no shared prefix: the prompt is tokenized in one piece.
            var reply = await host.InferAsync(files, new InferenceRequest(example.Prompt.Text, new GenerationOptions(maxTokens), 0), ct);
            passed[i] = (await scorer.ScoreAsync(new ScoreRequest(example.Prompt.Tail, reply.Text, example.Expected), ct)).Passed;
            if (i < 3)
            {
                Console.WriteLine($"[{example.Format} {example.Category}] expected {string.Join(' ', example.Expected)}\n  got {reply.Text.Replace("\n", " | ", StringComparison.Ordinal)} ({reply.FinishReason})");
            }
        });
        return passed;
    }

    private static void Print(string name, List<TinyExample> examples, bool[] passed)
    {
        Console.WriteLine($"| {name} | all | " + string.Join(" | ", SlackCategories) + " |");
        Console.WriteLine("|---|---|" + string.Concat(SlackCategories.Select(_ => "---|")));
        foreach (var format in examples.Select(e => e.Format).Distinct().Append("all"))
        {
            var indices = Enumerable.Range(0, examples.Count).Where(i => format == "all" || examples[i].Format == format).ToList();
            string Cell(IEnumerable<int> selected)
            {
                var list = selected.ToList();
                var interval = WilsonInterval.Compute(list.Count(i => passed[i]), list.Count);
                return string.Create(Invariant, $"{interval.Proportion:P0} ({interval.Lower:P0}–{interval.Upper:P0}) n={interval.Trials}");
            }

            Console.WriteLine($"| {format} | {Cell(indices)} | " + string.Join(" | ", SlackCategories.Select(c => Cell(indices.Where(i => examples[i].Category == c)))) + " |");
        }
    }

    private static readonly string[] SlackCategories = [.. EvalMesh.Evaluation.Generation.SlackGenerator.Categories];

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";

    private sealed class InlineProgress(Action<TinyTrainingProgress> report) : IProgress<TinyTrainingProgress>
    {
        public void Report(TinyTrainingProgress value) => report(value);
    }
}
