using System.CommandLine;
using EvalMesh.Contracts;
using EvalMesh.Inference.Tiny;

namespace EvalMesh.Cli.Commands;

/// <summary><c>evalmesh models make-tiny</c>: writes the generated tiny llama model and its LoRA adapters.</summary>
internal static class ModelsCommand
{
    public static Command Create()
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
        return new Command("models", "Local GGUF models.") { makeTiny };
    }
}
