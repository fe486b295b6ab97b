using System.CommandLine;
using EvalMesh.Client;
using Spectre.Console;

namespace EvalMesh.Cli.Commands;

/// <summary>
/// <c>evalmesh runs</c>, <c>status RUN</c>, <c>report RUN</c>, <c>results RUN</c>, <c>compare BASELINE CANDIDATE</c>,
/// <c>export-finetune RUN</c> and <c>cancel RUN</c>: look at runs and their cells, compare two, turn them into training
/// data, and stop one.
/// </summary>
internal static class RunsCommand
{
    public static IEnumerable<Command> Create()
    {
        yield return List();
        yield return Status();
        yield return Report();
        yield return Results();
        yield return Compare();
        yield return ExportFinetune();
        yield return Cancel();
    }

    private static Command List()
    {
        var cluster = new ClusterArguments();
        var command = new Command("runs", "List runs, newest first.");
        cluster.AddTo(command);
        command.SetAction((parse, cancellationToken) => CliAction.RunAsync(async () =>
        {
            await using var session = await cluster.ConnectAsync(parse, working: false, cancellationToken);
            var runs = await session.Client.ListRunsAsync(cancellationToken);
            if (parse.GetValue(cluster.Json))
            {
                Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(runs, ReportWriter.Json));
                return ExitCodes.Ok;
            }

            var table = new Table().AddColumn("run").AddColumn("state").AddColumn("cells").AddColumn("passed").AddColumn("failed").AddColumn("errors").AddColumn("started").AddColumn("description");
            foreach (var run in runs)
            {
                table.AddRow(Markup.Escape(run.RunId), run.State.ToString(), $"{run.Completed}/{run.Total}", run.Passed.ToString(System.Globalization.CultureInfo.InvariantCulture), run.Failed.ToString(System.Globalization.CultureInfo.InvariantCulture), run.Errors.ToString(System.Globalization.CultureInfo.InvariantCulture), run.CreatedAt.ToString("u", System.Globalization.CultureInfo.InvariantCulture), Markup.Escape(run.Description ?? string.Empty));
            }

            AnsiConsole.Write(table);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Status()
    {
        var run = new Argument<string>("run") { Description = "The run id." };
        var cluster = new ClusterArguments();
        var command = new Command("status", "A run's state and progress.") { run };
        cluster.AddTo(command);
        command.SetAction((parse, cancellationToken) => CliAction.RunAsync(async () =>
        {
            await using var session = await cluster.ConnectAsync(parse, working: false, cancellationToken);
            var status = await session.Client.GetRunAsync(parse.GetValue(run)!, cancellationToken);
            if (parse.GetValue(cluster.Json))
            {
                Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(status, ReportWriter.Json));
            }
            else
            {
                Console.WriteLine($"{status.RunId}: {status.State.ToString().ToLowerInvariant()}, {status.Completed}/{status.Total} cells, {status.Passed} passed, {status.Failed} failed, {status.Errors} errors");
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Report()
    {
        var run = new Argument<string>("run") { Description = "The run id." };
        var format = new Option<string>("--format") { Description = "md, json, csv, html (one self-contained page) or junit (JUnit XML).", DefaultValueFactory = _ => "md" };
        var output = new Option<string?>("--out") { Description = "Write to this file instead of stdout." };
        var cluster = new ClusterArguments();
        var command = new Command("report", "A run's report: accuracy with intervals, tokens, latency, comparisons, recommendation.") { run, format, output };
        cluster.AddTo(command);
        command.SetAction((parse, cancellationToken) => CliAction.RunAsync(async () =>
        {
            var chosen = parse.GetValue(format)!;
            if (!ReportWriter.Formats.Contains(chosen))
            {
                throw new Evaluation.UnknownNameException("report format", chosen, ReportWriter.Formats);
            }

            chosen = parse.GetValue(cluster.Json) ? "json" : chosen;
            await using var session = await cluster.ConnectAsync(parse, working: false, cancellationToken);
            var document = await ReportDocument.LoadAsync(session.Client, parse.GetValue(run)!, ReportWriter.ShowsDocumentCells(chosen) ? HtmlPages.MaxCells : 0, cancellationToken);
            await using var destination = parse.GetValue(output) is { } file ? File.Create(file) : Console.OpenStandardOutput();
            await ReportWriter.WriteAsync(session.Client, document, chosen, destination, cancellationToken);

            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Results()
    {
        var run = new Argument<string>("run") { Description = "The run id." };
        var cluster = new ClusterArguments();
        var command = new Command("results", "A run's cell results as JSON lines: prompt tokens, output, expected, score and reason of each cell.") { run };
        cluster.AddTo(command);
        command.SetAction((parse, cancellationToken) => CliAction.RunAsync(async () =>
        {
            await using var session = await cluster.ConnectAsync(parse, working: false, cancellationToken);
            var id = parse.GetValue(run)!;
            await session.Client.GetRunAsync(id, cancellationToken);
            await foreach (var result in session.Client.GetResultsAsync(id, cancellationToken))
            {
                Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(result, ReportWriter.JsonLine));
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Compare()
    {
        var baseline = new Argument<string>("baseline") { Description = "The run compared against." };
        var candidate = new Argument<string>("candidate") { Description = "The run under test." };
        var alpha = new Option<double>("--alpha") { Description = "The two-sided significance level of the paired per-case test (and 1 - the interval's confidence).", DefaultValueFactory = _ => 0.05 };
        var cluster = new ClusterArguments();
        var command = new Command("compare", "Compare two runs case by case (repeats averaged): what regressed or improved significantly (exit code 1 when anything regressed).") { baseline, candidate, alpha };
        cluster.AddTo(command);
        command.SetAction((parse, cancellationToken) => CliAction.RunAsync(async () =>
        {
            var level = parse.GetValue(alpha);
            if (level is <= 0 or >= 1)
            {
                throw new Evaluation.EvalMeshInputException("must be between 0 and 1 (exclusive)", setting: "--alpha");
            }

            await using var session = await cluster.ConnectAsync(parse, working: false, cancellationToken);
            var rows = await session.Client.CompareRunsAsync(parse.GetValue(baseline)!, parse.GetValue(candidate)!, level, cancellationToken);
            if (parse.GetValue(cluster.Json))
            {
                Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(rows, ReportWriter.Json));
            }
            else
            {
                ComparisonTable.Print(rows, level);
            }

            return rows.Any(r => r.Verdict == ComparisonVerdict.Regressed) ? ExitCodes.Failures : ExitCodes.Ok;
        }));
        return command;
    }

    private static Command ExportFinetune()
    {
        var run = new Argument<string>("run") { Description = "The run id." };
        var output = new Option<string>("--out") { Description = "The JSONL file to write.", Required = true };
        var only = new Option<string?>("--only") { Description = "'failed': only the cells the model got wrong." };
        var endpoint = new Option<string?>("--endpoint") { Description = "Only this endpoint's cells." };
        var cluster = new ClusterArguments();
        var command = new Command("export-finetune", "Write a run's cells as OpenAI chat fine-tuning JSONL: each prompt paired with its expected answer.") { run, output, only, endpoint };
        cluster.AddTo(command);
        command.SetAction((parse, cancellationToken) => CliAction.RunAsync(async () =>
        {
            if (parse.GetValue(only) is { } chosen && chosen != "failed")
            {
                throw new Evaluation.UnknownNameException("--only selection", chosen, ["failed"]);
            }

            await using var session = await cluster.ConnectAsync(parse, working: false, cancellationToken);
            var id = parse.GetValue(run)!;
            var status = await session.Client.GetRunAsync(id, cancellationToken);
            var endpoints = status.Matrix.Select(m => m.Endpoint).Distinct().ToList();
            if (parse.GetValue(endpoint) is { } name && !endpoints.Contains(name))
            {
                throw new Evaluation.UnknownNameException("endpoint", name, endpoints);
            }

            var file = parse.GetValue(output)!;
            FineTuneSummary summary;
            await using (var writer = new StreamWriter(file))
            {
                summary = await FineTuneExport.WriteAsync(session.Client, id, new FineTuneSelection(parse.GetValue(only) is not null, parse.GetValue(endpoint)), writer, cancellationToken);
            }

            var skipped = summary.WithoutReference > 0 ? $"; {summary.WithoutReference} prompts left out: their scorer ({string.Join(", ", summary.ScorersWithoutReference)}) has no reference answer" : string.Empty;
            Console.WriteLine($"wrote {summary.Examples} examples from {summary.Cells} cells to {file}{skipped}");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Cancel()
    {
        var run = new Argument<string>("run") { Description = "The run id." };
        var cluster = new ClusterArguments();
        var command = new Command("cancel", "Cancel a run.") { run };
        cluster.AddTo(command);
        command.SetAction((parse, cancellationToken) => CliAction.RunAsync(async () =>
        {
            await using var session = await cluster.ConnectAsync(parse, working: true, cancellationToken);
            var status = await session.Client.CancelRunAsync(parse.GetValue(run)!, cancellationToken);
            Console.WriteLine($"{status.RunId}: {status.State.ToString().ToLowerInvariant()}");
            return ExitCodes.Ok;
        }));
        return command;
    }
}
