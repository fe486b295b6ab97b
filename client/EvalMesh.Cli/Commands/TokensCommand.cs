using System.CommandLine;
using System.Globalization;
using EvalMesh.Abstractions;
using EvalMesh.Contracts;
using EvalMesh.Evaluation;
using EvalMesh.Evaluation.Configuration;
using EvalMesh.Evaluation.Datasets;
using EvalMesh.Evaluation.Formats;
using EvalMesh.Evaluation.Generation;
using EvalMesh.Evaluation.Tokenization;
using EvalMesh.Inference.Endpoints;
using EvalMesh.Inference.Llama;
using Spectre.Console;

namespace EvalMesh.Cli.Commands;

/// <summary><c>evalmesh tokens FILE</c>: tokens and bytes per format and tokenizer, the seed's cost question.</summary>
internal static class TokensCommand
{
    public static Command Create()
    {
        var file = new Argument<string?>("file") { Description = "A .jsonl, .json or .csv file.", Arity = ArgumentArity.ZeroOrOne };
        var slack = new Option<bool>("--slack") { Description = "Measure the generated Slack dataset instead of a file." };
        var messages = new Option<int>("--messages") { Description = "With --slack: how many messages.", DefaultValueFactory = _ => 100 };
        var seed = new Option<int>("--seed") { Description = "With --slack: the generator's seed.", DefaultValueFactory = _ => 7 };
        var formats = new Option<string>("--formats") { Description = "Comma-separated formats (default: all)." };
        var tokenizers = new Option<string>("--tokenizers") { Description = "Comma-separated tokenizers (default: o200k_base,cl100k_base)." };
        var model = new Option<string?>("--model") { Description = "Also count with a local GGUF model's own vocabulary (a path, or tiny); only its vocabulary is loaded." };
        var prompt = new Option<string?>("--prompt") { Description = "With --model: count each format as this prompt template ({{format}}, {{context}}, {{question}} left empty) rendered with the model's chat template, as the model would be sent it." };
        var chatTemplate = new Option<string>("--chat-template") { Description = "With --prompt: auto (the model's own), none, or a llama.cpp template name.", DefaultValueFactory = _ => ChatTemplates.Auto };
        var json = new Option<bool>("--json") { Description = "Print JSON for programs instead of a table." };
        var command = new Command("tokens", "Tokens and bytes per format and tokenizer.") { file, slack, messages, seed, formats, tokenizers, model, prompt, chatTemplate, json };
        command.SetAction(parse => CliAction.Run(() =>
        {
            var path = parse.GetValue(file);
            Dataset dataset;
            if (parse.GetValue(slack))
            {
                var options = new SlackGeneratorOptions(parse.GetValue(messages), parse.GetValue(seed));
                dataset = Dataset.Create($"slack-{options.Messages}-seed{options.Seed}", SlackGenerator.Generate(options).Messages);
            }
            else
            {
                dataset = DatasetReader.Read(path ?? throw new EvalMeshInputException("give a dataset file, or --slack for the generated Slack dataset"));
            }

            var chosenFormats = Split(parse.GetValue(formats))?.Select(RecordFormats.Get).ToList() ?? [.. RecordFormats.All];
            var chosenTokenizers = (Split(parse.GetValue(tokenizers)) ?? TokenizerRegistry.BuiltInNames).Select(TokenizerRegistry.Shared.Get).ToList();
            using var vocabulary = parse.GetValue(model) is { } name ? ModelVocabulary.Load(new ModelCatalog().ResolveModel(name)) : null;
            if (vocabulary is not null)
            {
                chosenTokenizers.Add(vocabulary);
            }
            else if (parse.GetValue(prompt) is not null)
            {
                throw new EvalMeshInputException("needs --model: the prompt is counted with the model's own vocabulary and chat template", setting: "--prompt");
            }

            var costs = TokenStudy.Measure(dataset.Records, chosenFormats, chosenTokenizers);
            var columns = chosenTokenizers.Select(t => t.Name).ToList();
            if (vocabulary is not null && parse.GetValue(prompt) is { } template)
            {
                // The whole prompt the model would be sent for each format: the template filled in (the question left
                // empty) and rendered with its chat template.
                var column = $"{vocabulary.Name} prompt";
                var chat = Template(parse.GetValue(chatTemplate)!);
                costs = [.. costs.Select(cost => cost with
                {
                    Tokens = new Dictionary<string, int>(cost.Tokens, StringComparer.Ordinal)
                    {
                        [column] = vocabulary.CountPromptTokens([new ChatTurn("user", PromptTemplate.Compile(template, cost.Format, RecordFormats.Get(cost.Format).Render(dataset.Records)).For(string.Empty).Text)], chat),
                    },
                })];
                columns.Add(column);
            }
            if (parse.GetValue(json))
            {
                CliJson.Print(new { dataset = dataset.Name, records = dataset.Records.Count, formats = costs });
            }
            else
            {
                Print(dataset, costs, columns);
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    private static string Template(string name) =>
        ChatTemplates.Names.Contains(name, StringComparer.Ordinal) ? name : throw new UnknownNameException("chat template", name, ChatTemplates.Names);

    private static List<string>? Split(string? list) =>
        list is null ? null : [.. list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    private static void Print(Dataset dataset, IReadOnlyList<FormatCost> costs, IReadOnlyList<string> tokenizers)
    {
        var first = tokenizers[0];
        var cheapest = costs.Min(c => c.Tokens[first]);
        var table = new Table().Title($"{dataset.Name}: {dataset.Records.Count} records").AddColumn("format").AddColumn(new TableColumn("bytes").RightAligned());
        foreach (var tokenizer in tokenizers)
        {
            table.AddColumn(new TableColumn($"{tokenizer} tokens").RightAligned());
        }

        table.AddColumn(new TableColumn($"vs fewest ({first})").RightAligned());
        foreach (var cost in costs.OrderBy(c => c.Tokens[first]))
        {
            var cells = new List<string> { cost.Format, cost.Bytes.ToString("N0", CultureInfo.InvariantCulture) };
            cells.AddRange(tokenizers.Select(t => cost.Tokens[t].ToString("N0", CultureInfo.InvariantCulture)));
            cells.Add(((double)cost.Tokens[first] / cheapest).ToString("0.00x", CultureInfo.InvariantCulture));
            table.AddRow(cells.Select(Markup.Escape).ToArray());
        }

        AnsiConsole.Write(table);
    }
}
