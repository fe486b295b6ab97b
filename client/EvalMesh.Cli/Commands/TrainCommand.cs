using System.CommandLine;
using System.Globalization;
using EvalMesh.Inference.Endpoints;
using EvalMesh.Training;
using Spectre.Console;

namespace EvalMesh.Cli.Commands;

/// <summary><c>evalmesh train</c>: trains a LoRA adapter (or a whole model) from chat JSONL with the built-in trainer.</summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "The base model: a GGUF file, or tiny.", Required = true };
        var data = new Option<string>("--data") { Description = "Training examples: chat JSONL, as export-finetune writes.", Required = true };
        var validation = new Option<string?>("--validation") { Description = "Held-out examples in the same format; their loss is measured before training and after every epoch." };
        var output = new Option<string>("--out") { Description = "The adapter GGUF to write (with --full, the model); written whole or not at all.", Required = true };
        var training = new TrainingArguments();
        var full = new Option<bool>("--full") { Description = "Train every weight and write a whole model, instead of a LoRA adapter." };
        var json = new Option<bool>("--json") { Description = "Print the result and its loss curve as JSON." };
        var command = new Command("train", "Train a LoRA adapter from chat examples (loss on the answers only) with the built-in trainer.")
        {
            model, data, validation, output, full, json,
        };
        training.AddTo(command);
        command.SetAction((parse, cancellationToken) => CliAction.RunAsync(async () =>
        {
            var job = new TrainingJob(new ModelCatalog().ResolveModel(parse.GetValue(model)!), parse.GetValue(data)!, Path.GetFullPath(parse.GetValue(output)!))
            {
                ValidationData = parse.GetValue(validation),
                Mode = parse.GetValue(full) ? TrainingMode.Full : TrainingMode.Lora,
                Settings = training.Read(parse),
            };
            var trainer = new BuiltInTrainer();
            TrainingResult result;
            if (parse.GetValue(json) || Console.IsOutputRedirected)
            {
                result = await trainer.TrainAsync(job, cancellationToken: cancellationToken);
            }
            else
            {
                result = await AnsiConsole.Progress()
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                    .StartAsync(async progress =>
                    {
                        var task = progress.AddTask("loading", maxValue: 1);
                        var reporter = new Reporter(update =>
                        {
                            task.MaxValue = Math.Max(1, update.TotalSteps);
                            task.Value = update.Step;
                            task.Description = Describe(update);
                        });
                        return await trainer.TrainAsync(job, reporter, cancellationToken);
                    });
            }

            if (parse.GetValue(json))
            {
                CliJson.Print(result);
            }
            else
            {
                var validationLoss = result.FinalValidationLoss is { } loss
                    ? string.Create(CultureInfo.InvariantCulture, $", validation loss {result.InitialValidationLoss:0.000} → {loss:0.000}")
                    : string.Empty;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{result.Output}: {result.Examples} examples ({result.SkippedExamples} too long), {result.Steps} steps, train loss {result.Curve[0].TrainLoss:0.000} → {result.Curve[^1].TrainLoss:0.000}{validationLoss}, {result.TokensPerSecond:N0} tokens/s"));
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    private static string Describe(TrainingProgress update) => string.Create(CultureInfo.InvariantCulture,
        $"epoch {update.Epoch}/{update.Epochs}  train loss {update.TrainLoss:0.000}{(update.ValidationLoss is { } v ? $"  validation {v:0.000}" : string.Empty)}  {update.TokensPerSecond:N0} tokens/s");

    // Reports on the trainer's thread, so that the bar follows every step.
    private sealed class Reporter(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
