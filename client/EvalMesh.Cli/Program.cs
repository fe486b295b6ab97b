using System.CommandLine;
using EvalMesh.Cli.Commands;

var root = new RootCommand("EvalMesh: format × model evaluations across an Orleans cluster, and LoRA adapter routing.")
{
    GenerateCommand.Create(),
    ConvertCommand.Create(),
    TokensCommand.Create(),
    ModelsCommand.Create(),
    InferCommand.Create(),
};
return await root.Parse(args).InvokeAsync();
