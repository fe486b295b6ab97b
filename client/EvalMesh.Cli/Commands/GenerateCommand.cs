using System.CommandLine;
using System.Text;
using EvalMesh.Evaluation.Formats;
using EvalMesh.Evaluation.Generation;
using EvalMesh.Evaluation.Suites;

namespace EvalMesh.Cli.Commands;

/// <summary><c>evalmesh generate slack</c>: writes the Slack-style dataset and its test suite.</summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var messages = new Option<int>("--messages") { Description = "How many messages (half in threads).", DefaultValueFactory = _ => 100 };
        var seed = new Option<int>("--seed") { Description = "The seed; the same seed gives the same files.", DefaultValueFactory = _ => 7 };
        var cases = new Option<int>("--cases-per-category") { Description = "Test cases per category (index, content, user, compound, thread).", DefaultValueFactory = _ => 4 };
        var output = new Option<DirectoryInfo>("--out") { Description = "The folder to write messages.jsonl and suite.yaml into.", Required = true };
        var slack = new Command("slack", "Slack-like messages and questions whose answers are permalinks, as in the seed experiment.")
        {
            messages, seed, cases, output,
        };
        slack.SetAction(parse => CliAction.Run(() =>
        {
            var options = new SlackGeneratorOptions(parse.GetValue(messages), parse.GetValue(seed), parse.GetValue(cases));
            if (options.Messages < 4 || options.CasesPerCategory < 0)
            {
                throw new Evaluation.EvalMeshInputException("must be at least 4", setting: "--messages");
            }

            var data = SlackGenerator.Generate(options);
            var folder = parse.GetValue(output)!;
            folder.Create();
            var jsonl = new StringBuilder();
            var oneLine = RecordFormats.Get("oneline-json");
            foreach (var message in data.Messages)
            {
                jsonl.Append(OneRecord(oneLine, message)).Append('\n');
            }

            File.WriteAllText(Path.Combine(folder.FullName, "messages.jsonl"), jsonl.ToString());
            SuiteFile.Write(data.Suite, Path.Combine(folder.FullName, "suite.yaml"));
            Console.WriteLine($"wrote {data.Messages.Count} messages and {data.Suite.Cases.Count} test cases to {folder.FullName}");
            return ExitCodes.Ok;
        }));

        return new Command("generate", "Generate datasets and test suites.") { slack };
    }

    // A one-record array rendered on one line, without its brackets, is exactly one JSON Lines line.
    private static string OneRecord(IRecordFormat oneLine, System.Text.Json.Nodes.JsonObject message) => oneLine.Render([message])[1..^1];
}
