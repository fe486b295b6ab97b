using System.CommandLine;
using EvalMesh.Evaluation.Datasets;
using EvalMesh.Evaluation.Formats;

namespace EvalMesh.Cli.Commands;

/// <summary><c>evalmesh convert --to FORMAT FILE</c>: renders a dataset file in a format on stdout.</summary>
internal static class ConvertCommand
{
    public static Command Create()
    {
        var to = new Option<string>("--to") { Description = $"The format: {string.Join(", ", RecordFormats.Names)}.", Required = true };
        var file = new Argument<string>("file") { Description = "A .jsonl, .json or .csv file." };
        var command = new Command("convert", "Render a dataset file in one format.") { to, file };
        command.SetAction(parse => CliAction.Run(() =>
        {
            var format = RecordFormats.Get(parse.GetValue(to)!);
            var dataset = DatasetReader.Read(parse.GetValue(file)!);
            Console.Out.Write(format.Render(dataset.Records));
            Console.Out.Write('\n');
            return ExitCodes.Ok;
        }));
        return command;
    }
}
