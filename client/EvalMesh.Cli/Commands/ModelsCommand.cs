using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using EvalMesh.Contracts;
using EvalMesh.Inference.Tiny;
using EvalMesh.Training;
using EvalMesh.Training.Recipes;

namespace EvalMesh.Cli.Commands;

/// <summary>
/// <c>evalmesh models make-tiny</c>: writes the generated tiny llama model and its LoRA adapters;
/// <c>evalmesh models train-tiny</c>: trains a tiny model and two adapters on generated Slack question answering.
/// </summary>
internal static class ModelsCommand
{
    public static Command Create() => new("models", "Local GGUF models.") { MakeTiny(), TrainTiny() };

    private static Command MakeTiny()
    {
        var output = new Option<DirectoryInfo>("--out") { Description = "The folder to write tiny-llama.gguf and adapter-N.gguf into.", Required = true };
        var seed = new Option<int>("--seed") { Description = "The seed; the same seed gives byte-identical files.", DefaultValueFactory = _ => 42 };
        var adapters = new Option<int>("--adapters") { Description = "How many LoRA adapters to write.", DefaultValueFactory = _ => 2 };
        var chatTemplate = new Option<string?>("--chat-template") { Description = "A llama.cpp chat template name (chatml, llama3, gemma, mistral-v7, ...) to write into the model as its own." };
        var makeTiny = new Command("make-tiny", "Write a tiny llama-architecture GGUF model with random seeded weights, and LoRA adapters for it.") { output, seed, adapters, chatTemplate };
        makeTiny.SetAction(parse => CliAction.Run(() =>
        {
            var count = parse.GetValue(adapters);
            if (count is < 0 or > 64)
            {
                throw new Evaluation.EvalMeshInputException("must be between 0 and 64", setting: "--adapters");
            }

            if (parse.GetValue(chatTemplate) is { } name && !ChatTemplates.BuiltIn.Contains(name, StringComparer.Ordinal))
            {
                throw new Evaluation.UnknownNameException("chat template", name, ChatTemplates.BuiltIn);
            }

            var files = TinyModel.Write(parse.GetValue(output)!.FullName, parse.GetValue(seed), count, chatTemplate: parse.GetValue(chatTemplate));
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
        var trainTiny = new Command("train-tiny", "Train a tiny model and two LoRA adapters (csv, toon) with the built-in trainer on generated Slack question answering: copying first, then the task, in the seed experiment's six formats; held-out seeds never trained on.") { output, seed, threads, json };
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
