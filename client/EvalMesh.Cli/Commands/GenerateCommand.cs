using System.CommandLine;
using System.Globalization;
using EvalMesh.Client;
using EvalMesh.Evaluation;
using EvalMesh.Evaluation.Datasets;
using EvalMesh.Evaluation.Generation;
using EvalMesh.Evaluation.Suites;

namespace EvalMesh.Cli.Commands;

/// <summary>
/// <c>evalmesh generate slack</c> writes the Slack-style dataset and its suite (texts by a model with <c>--with</c>);
/// <c>evalmesh generate cases --with ENDPOINT --dataset FILE</c> has a model write a suite over a dataset, checked
/// against the data (<see cref="CaseGeneration"/>). Files are written only once everything is done, so a failure leaves
/// none behind.
/// </summary>
internal static class GenerateCommand
{
    public static Command Create() => new("generate", "Generate datasets and test suites, by the built-in generator or by a model.") { Slack(), Cases() };

    private static Command Slack()
    {
        var messages = new Option<int>("--messages") { Description = "How many messages (half in threads).", DefaultValueFactory = _ => 100 };
        var seed = new Option<int>("--seed") { Description = "The seed; the same seed (and, with --with, the same answers) gives the same files.", DefaultValueFactory = _ => 7 };
        var cases = new Option<int>("--cases-per-category") { Description = "Test cases per category (index, content, user, compound, thread).", DefaultValueFactory = _ => 4 };
        var output = new Option<DirectoryInfo>("--out") { Description = "The folder to write messages.jsonl and suite.yaml into.", Required = true };
        var writer = new WriterArguments("the messages' texts (without it, the generator's own texts)", required: false);
        var cluster = new ClusterArguments();
        var command = new Command("slack", "Slack-like messages and questions whose answers are permalinks, as in the seed experiment.")
        {
            messages, seed, cases, output,
        };
        writer.AddTo(command);
        cluster.AddTo(command);
        command.SetAction((parse, cancellationToken) => CliAction.RunAsync(async () =>
        {
            var options = new SlackGeneratorOptions(parse.GetValue(messages), parse.GetValue(seed), parse.GetValue(cases));
            if (options.Messages < 4)
            {
                throw new EvalMeshInputException("must be at least 4", setting: "--messages");
            }

            if (options.CasesPerCategory < 0)
            {
                throw new EvalMeshInputException("must not be negative", setting: "--cases-per-category");
            }

            var folder = parse.GetValue(output)!;
            SlackDataset data;
            if (parse.GetValue(writer.With) is { } name)
            {
                var (endpoint, adapters) = writer.Resolve(parse, name, writer.With.Name);
                var json = parse.GetValue(cluster.Json);
                await using var session = await cluster.ConnectAsync(parse, working: true, cancellationToken);
                var result = await MessageGeneration.RunAsync(session.Client, options, endpoint, adapters, json ? null : new ProgressLines(), cancellationToken);
                data = result.Dataset;
                Write(data, folder);
                if (json)
                {
                    CliJson.Print(new { result.Run, Messages = data.Messages.Count, result.Written, result.Drafts, Cases = data.Suite.Cases.Count, Folder = folder.FullName });
                    return ExitCodes.Ok;
                }

                Console.WriteLine($"endpoint {endpoint.Name} wrote {result.Written} of {data.Messages.Count} texts (run {result.Run}); {result.Drafts.Count} kept the generator's draft");
                foreach (var draft in result.Drafts.Take(5))
                {
                    Console.WriteLine($"  message {draft.Message}: {draft.Reason}");
                }
            }
            else
            {
                data = SlackGenerator.Generate(options);
                Write(data, folder);
            }

            Console.WriteLine($"wrote {data.Messages.Count} messages and {data.Suite.Cases.Count} test cases to {folder.FullName}");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Cases()
    {
        var dataset = new Option<string>("--dataset") { Description = "The message dataset (.jsonl, .json or .csv) the questions are about: permalinks, users, channels, threads.", Required = true };
        var perCategory = new Option<int>("--per-category") { Description = "Cases to keep per category.", DefaultValueFactory = _ => 8 };
        var categories = new Option<string>("--categories") { Description = "The categories, comma-separated.", DefaultValueFactory = _ => string.Join(',', SlackGenerator.Categories) };
        var seed = new Option<int>("--seed") { Description = "Chooses the record each proposal is built around; the same seed and answers give the same suite.", DefaultValueFactory = _ => 7 };
        var maxCalls = new Option<int?>("--max-calls") { Description = "The most proposal calls (default four per wanted case)." };
        var checkWith = new Option<string?>("--check-with") { Description = "The endpoint that answers each kept case in the second pass (default --with)." };
        var output = new Option<FileInfo>("--out") { Description = "The suite file to write.", Required = true };
        var writer = new WriterArguments("the cases", required: true);
        var cluster = new ClusterArguments();
        var command = new Command("cases", "Have a model write test cases over a dataset: each is checked against the data (answers are computed from it), and a second pass flags those another answer disagrees with.")
        {
            dataset, perCategory, categories, seed, maxCalls, checkWith, output,
        };
        writer.AddTo(command);
        cluster.AddTo(command);
        command.SetAction((parse, cancellationToken) => CliAction.RunAsync(async () =>
        {
            var (endpoint, adapters) = writer.Resolve(parse, parse.GetValue(writer.With)!, writer.With.Name);
            var names = parse.GetValue(categories)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            if (names.FirstOrDefault(n => !SlackGenerator.Categories.Contains(n)) is { } unknown)
            {
                throw new EvalMeshInputException(new UnknownNameException("category", unknown, SlackGenerator.Categories).Message, setting: categories.Name);
            }

            var options = new CaseGenerationOptions(parse.GetValue(dataset)!, endpoint)
            {
                Categories = [.. SlackGenerator.Categories.Where(names.Contains)],
                PerCategory = parse.GetValue(perCategory),
                Seed = parse.GetValue(seed),
                MaxCalls = parse.GetValue(maxCalls),
                Checker = parse.GetValue(checkWith) is { } checker ? writer.Resolve(parse, checker, checkWith.Name).Endpoint : null,
                Adapters = adapters,
            };
            var json = parse.GetValue(cluster.Json);
            await using var session = await cluster.ConnectAsync(parse, working: true, cancellationToken);
            var result = await CaseGeneration.RunAsync(session.Client, options, json ? null : new ProgressLines(), cancellationToken);
            var file = parse.GetValue(output)!;
            AtomicFile.Write(file.FullName, path => SuiteFile.Write(result.Suite with { Dataset = Path.GetRelativePath(file.DirectoryName!, result.Suite.Dataset!) }, path));
            if (json)
            {
                CliJson.Print(new
                {
                    result.Proposed,
                    Kept = result.Suite.Cases.Count,
                    Dropped = result.DroppedByReason.ToDictionary(),
                    Flagged = result.Flagged.Count,
                    result.Categories,
                    DroppedProposals = result.Dropped,
                    FlaggedCases = result.Flagged,
                    result.Runs,
                    Suite = file.FullName,
                });
                return ExitCodes.Ok;
            }

            Console.WriteLine("| category | proposed | kept | flagged |");
            Console.WriteLine("|---|---:|---:|---:|");
            foreach (var c in result.Categories)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {c.Category} | {c.Proposed} | {c.Kept} | {c.Flagged} |"));
            }

            var dropped = result.DroppedByReason.Count == 0 ? "none" : string.Join(", ", result.DroppedByReason.Select(p => $"{p.Value} {p.Key}"));
            Console.WriteLine($"{result.Proposed} proposed, {result.Suite.Cases.Count} kept, {result.Dropped.Count} dropped ({dropped}), {result.Flagged.Count} flagged for review");
            foreach (var drop in result.Dropped.Take(5))
            {
                Console.WriteLine($"  dropped {drop.Call} ({drop.Reason}): {drop.Detail}");
            }

            foreach (var shortfall in result.Categories.Where(c => c.Kept < options.PerCategory))
            {
                var why = shortfall.Proposed >= shortfall.Records ? $"each of the {shortfall.Records} records it can be built around has had its call" : $"the budget of {options.Budget} calls ran out (raise --max-calls for more)";
                Console.WriteLine($"{shortfall.Category}: {shortfall.Kept} of {options.PerCategory} cases kept; {why}");
            }

            Console.WriteLine($"wrote {result.Suite.Cases.Count} test cases to {file.FullName} (runs {string.Join(", ", result.Runs)})");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static void Write(SlackDataset data, DirectoryInfo folder)
    {
        folder.Create();
        AtomicFile.Write(Path.Combine(folder.FullName, "messages.jsonl"), path => File.WriteAllText(path, JsonLines.Write(data.Messages)));
        AtomicFile.Write(Path.Combine(folder.FullName, "suite.yaml"), path => SuiteFile.Write(data.Suite, path));
    }

    // One line per stage and tenth of its run.
    private sealed class ProgressLines : IProgress<GenerationProgress>
    {
        private string? _last;

        public void Report(GenerationProgress value)
        {
            var r = value.Run;
            var line = $"{value.Stage}: run {r.RunId}, {(r.Total == 0 ? 0 : r.Completed * 10 / r.Total) * 10}% of {r.Total} calls";
            if (line != _last)
            {
                _last = line;
                Console.WriteLine(line);
            }
        }
    }
}
