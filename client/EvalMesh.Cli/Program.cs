using System.CommandLine;
using EvalMesh.Cli;
using EvalMesh.Cli.Commands;
using Spectre.Console;

// Tables written to a file or a pipe get room for their columns instead of the 80-column default.
if (Console.IsOutputRedirected)
{
    AnsiConsole.Profile.Width = 200;
}

var root = new RootCommand("EvalMesh: format × model evaluations across an Orleans cluster, and LoRA adapter routing.")
{
    RunCommand.Create(),
    GenerateCommand.Create(),
    ConvertCommand.Create(),
    TokensCommand.Create(),
    ModelsCommand.Create(),
    TrainCommand.Create(),
    FinetuneCommand.Create(),
    InferCommand.Create(),
    AdaptersCommand.Create(),
};
foreach (var command in RunsCommand.Create())
{
    root.Subcommands.Add(command);
}

var parse = root.Parse(args);
if (ParseErrors.Describe(parse) is { } error)
{
    Console.Error.WriteLine($"evalmesh: error: {error}");
    return ExitCodes.BadInput;
}

return await parse.InvokeAsync();
