using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using EvalMesh.Contracts;
using EvalMesh.Inference.Tiny;
using EvalMesh.Training;
using EvalMesh.Training.Recipes;

namespace EvalMesh.Cli.Commands;

/// <summary>
/// <c>evalmesh models make-tiny</c>: writes the built-in tiny model (trained, or with <c>--random</c> random) and its LoRA adapters;
/// <c>evalmesh models train-tiny</c>: trains the built-in tiny model and its two adapters on generated Slack question answering.
/// </summary>
internal static class ModelsCommand
{
    public static Command Create() => new("models", "Local GGUF models.") { MakeTiny(), TrainTiny() };

    private static Command MakeTiny()
    {
        var output = new Option<DirectoryInfo>("--out") { Description = "The folder to write tiny-llama.gguf and adapter-N.gguf into.", Required = true };
        var random = new Option<bool>("--random") { Description = "Write the random-weight smoke model (tiny-random) instead of the trained one." };
        var seed = new Option<int?>("--seed") { Description = "With --random: the seed (default 42); the same seed gives byte-identical files." };
        var adapters = new Option<int?>("--adapters") { Description = "With --random: how many LoRA adapters to write (default 2)." };
        var chatTemplate = new Option<string?>("--chat-template") { Description = "With --random: a llama.cpp chat template name (chatml, llama3, gemma, mistral-v7, ...) to write into the model as its own." };
        var makeTiny = new Command("make-tiny", "Write the built-in tiny model (trained on generated Slack question answering) and its csv and toon adapters; with --random, a tiny model with random seeded weights and LoRA adapters for it.") { output, random, seed, adapters, chatTemplate };
        makeTiny.SetAction(parse => CliAction.Run(() =>
        {
            var folder = parse.GetValue(output)!.FullName;
            TinyModelFiles files;
            if (parse.GetValue(random))
            {
                var count = parse.GetValue(adapters) ?? 2;
                if (count is < 0 or > 64)
                {
                    throw new Evaluation.EvalMeshInputException("must be between 0 and 64", setting: "--adapters");
                }

                if (parse.GetValue(chatTemplate) is { } name && !ChatTemplates.BuiltIn.Contains(name, StringComparer.Ordinal))
                {
                    throw new Evaluation.UnknownNameException("chat template", name, ChatTemplates.BuiltIn);
                }

                files = TinyModel.Write(folder, parse.GetValue(seed) ?? 42, count, chatTemplate: parse.GetValue(chatTemplate));
            }
            else
            {
                if (new Option[] { seed, adapters, chatTemplate }.FirstOrDefault(o => parse.GetResult(o) is not null) is { } randomOnly)
                {
                    throw new Evaluation.EvalMeshInputException("only shapes the random model: add --random, or leave it out to write the trained model", setting: randomOnly.Name);
                }

                files = TinyModel.WriteTrained(folder);
            }

            foreach (var file in files.Adapters.Prepend(files.Model))
            {
                Console.WriteLine($"{file}\t{new FileInfo(file).Length} bytes");
            }

            return ExitCodes.Ok;
        }));
        return makeTiny;
    }

    private static Command TrainTiny()
    {
        var recipe = new TinyRecipe();
        var output = new Option<DirectoryInfo>("--out") { Description = "The folder to write tiny-llama.gguf and adapter-N.gguf into.", DefaultValueFactory = _ => new DirectoryInfo("tiny-trained") };
        var seed = new Option<int>("--seed") { Description = "Seeds the initial weights and the order of questions; the same seed and threads give byte-identical files.", DefaultValueFactory = _ => recipe.Seed };
        var threads = new Option<int?>("--threads") { Description = "Training threads (default: the processor count); part of what makes a result reproducible." };
        var json = new Option<bool>("--json") { Description = "Print the result (loss curves included) as JSON." };
        var trainTiny = new Command("train-tiny", "Train the built-in tiny model and its two LoRA adapters with the built-in trainer on generated Slack question answering: a message's permalink asked by number, over one record, then one of two, in four of the seed experiment's formats; the adapters in csv and toon, the other two. Held-out seeds are never trained on; the same seed and threads give the shipped files byte for byte.") { output, seed, threads, json };
        trainTiny.SetAction((parse, cancellationToken) => CliAction.RunAsync(async () =>
        {
            var chosen = recipe with { Seed = parse.GetValue(seed), Threads = parse.GetValue(threads) };
            if (chosen.Threads is < 1)
            {
                throw new Evaluation.EvalMeshInputException("must be at least 1", setting: "--threads");
            }

            var progress = new ProgressLine(parse.GetValue(json));
            TinyTrainingResult result;
            try
            {
                result = await TinyTraining.TrainAsync(chosen, parse.GetValue(output)!.FullName, progress, cancellationToken);
            }
            catch (TrainingException ex)
            {
                Console.Error.WriteLine($"evalmesh: error: {ex.Message}");
                return ex.Problem is TrainingProblem.OutOfMemory or TrainingProblem.OutputFailed ? ExitCodes.Unavailable : ExitCodes.BadInput;
            }
            finally
            {
                progress.End();
            }

            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(result, CliJson.Options));
                return ExitCodes.Ok;
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"trained in {result.Elapsed:h\\:mm\\:ss}"));
            foreach (var (stage, trained) in chosen.Stages.Zip(result.Stages))
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{stage.Name}: {trained.Examples} questions, {trained.Steps} steps, validation loss {trained.InitialValidationLoss:0.000} → {trained.FinalValidationLoss:0.000}"));
            }

            foreach (var file in result.Files.Adapters.Prepend(result.Files.Model))
            {
                Console.WriteLine($"{file}\t{new FileInfo(file).Length} bytes");
            }

            return ExitCodes.Ok;
        }));
        return trainTiny;
    }

    // One line on stderr, rewritten in place on a terminal and printed every 30 seconds otherwise.
    private sealed class ProgressLine(bool quiet) : IProgress<TinyTrainingProgress>
    {
        private readonly Lock _gate = new();
        private DateTime _printed = DateTime.MinValue;
        private bool _open;

        public void Report(TinyTrainingProgress value)
        {
            if (quiet)
            {
                return;
            }

            var p = value.Progress;
            var line = string.Create(CultureInfo.InvariantCulture,
                $"{value.Stage}: step {p.Step}/{p.TotalSteps} ({(p.TotalSteps == 0 ? 0 : (double)p.Step / p.TotalSteps):P0}), loss {p.TrainLoss:0.000}, validation {p.ValidationLoss:0.000}, {p.TokensPerSecond:N0} tokens/s, {p.Elapsed:h\\:mm\\:ss}");
            lock (_gate)
            {
                if (!Console.IsErrorRedirected)
                {
                    Console.Error.Write($"\r{line,-120}");
                    _open = true;
                }
                else if (DateTime.UtcNow - _printed > TimeSpan.FromSeconds(30) || p.Step == p.TotalSteps)
                {
                    Console.Error.WriteLine(line);
                    _printed = DateTime.UtcNow;
                }
            }
        }

        public void End()
        {
            lock (_gate)
            {
                if (_open)
                {
                    Console.Error.WriteLine();
                    _open = false;
                }
            }
        }
    }
}
