using System.CommandLine;
using EvalMesh.Evaluation;
using EvalMesh.Inference.Endpoints;
using EvalMesh.Inference.Llama;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace EvalMesh.Cli.Commands;

/// <summary><c>evalmesh infer</c>: one completion from a local GGUF model (with an adapter) or an OpenAI-compatible URL.</summary>
internal static class InferCommand
{
    public static Command Create()
    {
        var model = new Option<string?>("--model") { Description = "A GGUF model file, or 'tiny' for the built-in tiny model." };
        var adapter = new Option<string?>("--adapter") { Description = "A LoRA adapter GGUF file (or adapter-N of the tiny model)." };
        var endpoint = new Option<string?>("--endpoint") { Description = "An OpenAI-compatible base URL instead of a local model, such as http://127.0.0.1:8080/v1." };
        var modelName = new Option<string?>("--model-name") { Description = "With --endpoint: the model name to ask for." };
        var apiKeyEnv = new Option<string?>("--api-key-env") { Description = "With --endpoint: the environment variable holding the API key." };
        var timeout = new Option<int>("--timeout-seconds") { Description = "With --endpoint: how long to wait for the server to answer, or for more of a streamed answer.", DefaultValueFactory = _ => 60 };
        var prompt = new Option<string>("--prompt") { Description = "The prompt.", Required = true };
        var maxTokens = new Option<int>("--max-tokens") { Description = "The most tokens to generate.", DefaultValueFactory = _ => 32 };
        var temperature = new Option<float>("--temperature") { Description = "0 is greedy.", DefaultValueFactory = _ => 0 };
        var topP = new Option<float>("--top-p") { Description = "Nucleus sampling: below 1, only the likeliest tokens whose probabilities add up to it.", DefaultValueFactory = _ => 1 };
        var seed = new Option<int>("--seed") { Description = "Sampling seed.", DefaultValueFactory = _ => 0 };
        var stop = new Option<string[]>("--stop") { Description = "A stop sequence (repeatable).", AllowMultipleArgumentsPerToken = false };
        var json = new Option<bool>("--json") { Description = "Print JSON with token counts instead of the text as it is generated." };
        var command = new Command("infer", "Run one completion.") { model, adapter, endpoint, modelName, apiKeyEnv, timeout, prompt, maxTokens, temperature, topP, seed, stop, json };
        command.SetAction((parse, cancellationToken) => CliAction.RunAsync(async () =>
        {
            if (parse.GetValue(maxTokens) < 1)
            {
                throw new EvalMeshInputException("must be at least 1", setting: "--max-tokens");
            }

            if (parse.GetValue(topP) is <= 0 or > 1)
            {
                throw new EvalMeshInputException("must be above 0 and at most 1", setting: "--top-p");
            }

            var options = new ChatOptions
            {
                MaxOutputTokens = parse.GetValue(maxTokens),
                Temperature = parse.GetValue(temperature),
                TopP = parse.GetValue(topP) < 1 ? parse.GetValue(topP) : null,
                Seed = parse.GetValue(seed),
                StopSequences = parse.GetValue(stop) is { Length: > 0 } stops ? [.. stops] : null,
            };
            using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
            ModelHost? host = null;
            try
            {
                IChatClient client;
                if (parse.GetValue(endpoint) is { } url)
                {
                    if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                    {
                        throw new EvalMeshInputException($"'{url}' is not an http(s) URL", setting: "--endpoint");
                    }

                    var name = parse.GetValue(modelName) ?? throw new EvalMeshInputException("is required with --endpoint", setting: "--model-name");
                    var key = parse.GetValue(apiKeyEnv) is { } variable
                        ? Environment.GetEnvironmentVariable(variable) ?? throw new EvalMeshInputException($"the environment variable {variable} is not set", setting: "--api-key-env")
                        : null;
                    if (parse.GetValue(timeout) is < 1 or > 3600)
                    {
                        throw new EvalMeshInputException("must be between 1 and 3600", setting: "--timeout-seconds");
                    }

                    client = new OpenAiChatClient(http, new OpenAiEndpointOptions("cli", uri, name, key, TimeSpan.FromSeconds(parse.GetValue(timeout))));
                }
                else
                {
                    var modelArg = parse.GetValue(model) ?? throw new EvalMeshInputException("give --model FILE (or 'tiny'), or --endpoint URL", setting: "--model");
                    var catalog = new ModelCatalog();
                    var modelFile = catalog.ResolveModel(modelArg);
                    host = new ModelHost(Options.Create(new ModelHostOptions { ContextSize = 8192 }));
                    client = new LlamaChatClient(host, new ModelFiles(modelFile, catalog.ResolveAdapter(modelArg, parse.GetValue(adapter))));
                }

                if (!parse.GetValue(json))
                {
                    // Text as it is generated (a local model streams token by token).
                    await foreach (var update in client.GetStreamingResponseAsync(parse.GetValue(prompt)!, options, cancellationToken))
                    {
                        Console.Write(update.Text);
                    }

                    Console.WriteLine();
                    return ExitCodes.Ok;
                }

                var response = await client.GetResponseAsync(parse.GetValue(prompt)!, options, cancellationToken);
                CliJson.Print(new
                {
                    text = response.Text,
                    promptTokens = response.Usage?.InputTokenCount,
                    completionTokens = response.Usage?.OutputTokenCount,
                    finishReason = response.FinishReason?.Value,
                });
                return ExitCodes.Ok;
            }
            finally
            {
                host?.Dispose();
            }
        }));
        return command;
    }
}
