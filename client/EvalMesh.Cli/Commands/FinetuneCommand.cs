using System.CommandLine;
using System.Globalization;
using EvalMesh.Client;

namespace EvalMesh.Cli.Commands;

/// <summary>
/// <c>evalmesh finetune RUN --endpoint NAME</c>: the seed's first loop, closed (<see cref="FineTuneLoop"/>): trains an
/// adapter on a run's failures of the training cases, runs the matrix again with it, and compares on held-out cases.
/// Exit code 1 when the adapter is significantly worse on any held-out suite and format.
/// </summary>
internal static class FinetuneCommand
{
    public static Command Create()
    {
        var run = new Argument<string>("run") { Description = "The finished run whose failures to learn from." };
        var endpoint = new Option<string>("--endpoint") { Description = "The run's llama endpoint to train an adapter for.", Required = true };
        var register = new Option<string?>("--register") { Description = "The adapter's name, registered as MODEL:NAME (default ft-RUN)." };
        var holdout = new Option<double>("--holdout") { Description = "The share of cases held out: never trained on, and the only ones compared.", DefaultValueFactory = _ => 0.3 };
        var anchors = new Option<bool>("--anchors") { Description = "Train on the training cases' passes as well as their failures." };
        var training = new TrainingArguments();
        var significance = new Option<double>("--significance") { Description = "The two-sided significance level of the held-out comparison.", DefaultValueFactory = _ => 0.05 };
        var cluster = new ClusterArguments();
        var command = new Command("finetune", "Close the loop: train an adapter on a run's failures (held-out cases never trained on), run the matrix again with it, and compare on the held-out cases.")
        {
            run, endpoint, register, holdout, anchors, significance,
        };
        training.AddTo(command);
        cluster.AddTo(command);
        command.SetAction((parse, cancellationToken) => CliAction.RunAsync(async () =>
        {
            var options = new FineTuneOptions(parse.GetValue(endpoint)!)
            {
                AdapterName = parse.GetValue(register),
                Holdout = parse.GetValue(holdout),
                Anchors = parse.GetValue(anchors),
                Training = training.Read(parse),
                Significance = parse.GetValue(significance),
            };
            if (options.Significance is <= 0 or >= 1)
            {
                throw new Evaluation.EvalMeshInputException("must be between 0 and 1 (exclusive)", setting: "--significance");
            }

            var json = parse.GetValue(cluster.Json);
            await using var session = await cluster.ConnectAsync(parse, working: true, cancellationToken);
            var result = await FineTuneLoop.RunAsync(session.Client, parse.GetValue(run)!, options, json ? null : new ProgressLines(), cancellationToken);
            if (json)
            {
                Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(result, ReportWriter.Json));
            }
            else
            {
                var job = result.Training;
                var validation = job.ValidationLoss is { } loss ? string.Create(CultureInfo.InvariantCulture, $", held-out loss {job.InitialValidationLoss:0.000} → {loss:0.000}") : string.Empty;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"adapter {job.Adapter!.Model}:{job.Adapter.Name}: {result.Examples.Examples} examples from {result.TrainCases.Count} training cases, {job.Step} steps, train loss {job.TrainLoss:0.000}{validation}"));
                Console.WriteLine($"run {result.EvaluationRun}: the matrix again with endpoint {result.AdapterEndpoint}; on the {result.HeldOutCases.Count} held-out cases, {result.Endpoint} (baseline) against {result.AdapterEndpoint} (candidate):");
                ComparisonTable.Print(result.Comparison, options.Significance, result.Endpoint, "adapter");
            }

            return result.Comparison.Any(r => r.Verdict == ComparisonVerdict.Regressed) ? ExitCodes.Failures : ExitCodes.Ok;
        }));
        return command;
    }

    // One line per stage, epoch (with the held-out loss) and tenth of the evaluation run: readable in a terminal and in a CI log alike.
    private sealed class ProgressLines : IProgress<FineTuneProgress>
    {
        private string? _last;

        public void Report(FineTuneProgress value)
        {
            var line = value switch
            {
                { Training: { } t } => string.Create(CultureInfo.InvariantCulture, $"training on {t.Silo}: epoch {t.Epoch}/{t.Epochs}{(t.ValidationLoss is { } v ? $", held-out loss {v:0.000}" : string.Empty)}"),
                { Run: { } r } => $"evaluating {r.RunId}: {(r.Total == 0 ? 0 : r.Completed * 10 / r.Total) * 10}% of {r.Total} cells",
                _ => "exporting the training cases' failures",
            };
            if (line != _last)
            {
                _last = line;
                Console.WriteLine(line);
            }
        }
    }
}
