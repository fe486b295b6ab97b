using System.CommandLine;
using EvalMesh.Abstractions;
using EvalMesh.Client;
using EvalMesh.Evaluation;
using EvalMesh.Evaluation.Configuration;
using EvalMesh.Evaluation.Tokenization;
using Spectre.Console;

namespace EvalMesh.Cli.Commands;

/// <summary>
/// <c>evalmesh run CONFIG</c>: runs a format × model matrix (on the embedded silo, or on a cluster with --cluster redis),
/// shows progress, prints the results table and writes the report in every format (JSON, CSV, Markdown, HTML, JUnit).
/// Exit code 1 when any cell failed or errored.
/// </summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var config = new Argument<string?>("config") { Description = "The evalmesh.yaml file.", Arity = ArgumentArity.ZeroOrOne };
        var resume = new Option<string?>("--resume") { Description = "Resume a run: re-run its errored and unfinished cells." };
        var runId = new Option<string?>("--run-id") { Description = "Use this run id instead of a generated one." };
        var output = new Option<string?>("--out") { Description = "Where to write the report in every format, report.html among them (default ./evalmesh-out/RUN)." };
        var noCache = new Option<bool>("--no-cache") { Description = "Ask OpenAI-compatible endpoints again instead of answering from the response cache." };
        var limit = new Option<int?>("--limit") { Description = "Run only the first N cases of each suite: a quick look before the whole matrix (overrides the config's 'limit')." };
        var cluster = new ClusterArguments();
        var command = new Command("run", "Run an evaluation matrix and report on it.") { config, resume, runId, output, noCache, limit };
        cluster.AddTo(command);
        command.SetAction((parse, cancellationToken) => CliAction.RunAsync(async () =>
        {
            var resumeId = parse.GetValue(resume);
            EvalConfig? parsed = null;
            if (resumeId is null)
            {
                parsed = ConfigLoader.Load(parse.GetValue(config) ?? throw new EvalMeshInputException("give a config file (or --resume RUN)", setting: "config"));
                if (parse.GetValue(limit) is { } first)
                {
                    parsed = first >= 1 ? parsed with { Limit = first } : throw new EvalMeshInputException("must be at least 1", setting: "--limit");
                }

                if (parse.GetValue(noCache))
                {
                    parsed = parsed with { Endpoints = [.. parsed.Endpoints.Select(e => e with { Cache = false })], Judge = parsed.Judge is { } judge ? judge with { Cache = false } : null };
                }

                // Tokenizers take a moment to build; build them while the silo starts.
                _ = Task.Run(() => parsed.Tokenizers.ToList().ForEach(t => TokenizerRegistry.Shared.Get(t).CountTokens("warm up")), cancellationToken);
            }

            var json = parse.GetValue(cluster.Json);
            await using var session = await cluster.ConnectAsync(parse, working: true, cancellationToken);
            var status = parsed is null
                ? await session.Client.ResumeRunAsync(resumeId!, cancellationToken)
                : await session.Client.StartRunAsync(parsed, parse.GetValue(runId), cancellationToken);
            if (!json)
            {
                AnsiConsole.MarkupLine($"run [bold]{Markup.Escape(status.RunId)}[/]: {status.Total} cells");
            }

            status = await WatchAsync(session.Client, status, showProgress: !json, cancellationToken);
            if (status.State == RunState.Failed)
            {
                throw new RunFailedException(status.RunId, status.Message);
            }

            var document = await ReportDocument.LoadAsync(session.Client, status.RunId, cancellationToken: cancellationToken);
            var folder = parse.GetValue(output) ?? Path.Combine("evalmesh-out", status.RunId);
            Directory.CreateDirectory(folder);
            foreach (var format in ReportWriter.Formats)
            {
                await using var file = File.Create(Path.Combine(folder, ReportWriter.FileName(format)));
                await ReportWriter.WriteAsync(session.Client, document, format, file, cancellationToken);
            }

            if (json)
            {
                await using (var stdout = Console.OpenStandardOutput())
                {
                    await ReportWriter.WriteAsync(session.Client, document, "json", stdout, cancellationToken);
                }

                Console.WriteLine();
            }
            else
            {
                ReportTable.Print(document.Report);
                AnsiConsole.MarkupLine($"reports: {Markup.Escape(string.Join(", ", ReportWriter.Formats.Select(f => Path.Combine(folder, ReportWriter.FileName(f)))))}");
                AnsiConsole.MarkupLine($"open {Markup.Escape(Path.GetFullPath(Path.Combine(folder, ReportWriter.FileName("html"))))} in a browser to see the answer at a glance");
            }

            return status.State == RunState.Completed && status.Failed == 0 && status.Errors == 0 ? ExitCodes.Ok : ExitCodes.Failures;
        }));
        return command;
    }

    private static async Task<RunStatus> WatchAsync(IEvalMeshClient client, RunStatus status, bool showProgress, CancellationToken cancellationToken)
    {
        if (!showProgress || !AnsiConsole.Profile.Capabilities.Interactive)
        {
            var reported = -1;
            await foreach (var update in client.WatchRunAsync(status.RunId, cancellationToken: cancellationToken))
            {
                status = update;
                var tenth = status.Total == 0 ? 10 : status.Completed * 10 / status.Total;
                if (showProgress && tenth != reported)
                {
                    reported = tenth;
                    Console.WriteLine($"{status.Completed}/{status.Total} cells ({status.Passed} passed, {status.Failed} failed, {status.Errors} errors)");
                }
            }

            return status;
        }

        await AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask("cells", maxValue: Math.Max(1, status.Total));
                await foreach (var update in client.WatchRunAsync(status.RunId, TimeSpan.FromMilliseconds(250), cancellationToken))
                {
                    status = update;
                    task.Value = status.Completed;
                    task.Description = $"{status.Passed} passed, {status.Failed} failed, {status.Errors} errors";
                }
            });
        return status;
    }
}
