using System.Text.Json;
using System.Text.Json.Nodes;
using EvalMesh.Inference.Gguf;
using EvalMesh.Testing;

namespace EvalMesh.Cli.Tests;

/// <summary><c>evalmesh train</c> through the real binary: the training settings on its command line reach the trainer.</summary>
public sealed class TrainCliTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("evalmesh-cli-train-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private Task<ProgramResult> Run(params string[] args) => CliRunner.RunAsync(_folder, args);

    [Fact]
    public async Task Train_WritesAnAdapterOfTheRankAsked_SkippingExamplesLongerThanTheMaximum()
    {
        Assert.Equal(0, (await Run("models", "make-tiny", "--random", "--out", "models", "--adapters", "0")).ExitCode);
        // 12 short examples and 2 whose prompts run to thousands of tokens.
        var examples = Enumerable.Range(0, 12).Select(i => Example($"Which channel is message {i} in?", i % 2 == 0 ? "#general" : "#random"))
            .Concat(Enumerable.Range(0, 2).Select(i => Example(string.Concat(Enumerable.Repeat($"filler {i} ", 2000)), "#general")));
        await File.WriteAllLinesAsync(Path.Combine(_folder, "train.jsonl"), examples, TestContext.Current.CancellationToken);

        var trained = await Run("train", "--model", "models/tiny-llama.gguf", "--data", "train.jsonl", "--out", "adapter.gguf",
            "--rank", "4", "--alpha", "8", "--epochs", "2", "--batch-size", "4", "--learning-rate", "2e-3", "--seed", "3", "--max-sequence-length", "512", "--json");

        Assert.True(trained.ExitCode == 0, trained.Stderr);
        var result = JsonNode.Parse(trained.Stdout)!;
        Assert.Equal(12, result["examples"]!.GetValue<int>());
        Assert.Equal(2, result["skippedExamples"]!.GetValue<int>());
        Assert.Equal(2 * 3, result["steps"]!.GetValue<int>()); // two epochs of 12 examples in batches of 4
        var adapter = GgufValidator.ValidateAdapter(Path.Combine(_folder, "adapter.gguf"), GgufValidator.ValidateModel(Path.Combine(_folder, "models", "tiny-llama.gguf")));
        Assert.Equal((4, 8f), (adapter.Rank, adapter.Alpha));
    }

    [Fact]
    public async Task Train_ARankOfZero_IsOneLineNamingTheSetting_AndWritesNothing()
    {
        Assert.Equal(0, (await Run("models", "make-tiny", "--random", "--out", "models", "--adapters", "0")).ExitCode);
        await File.WriteAllLinesAsync(Path.Combine(_folder, "train.jsonl"), [Example("Which channel?", "#general")], TestContext.Current.CancellationToken);

        var failed = await Run("train", "--model", "models/tiny-llama.gguf", "--data", "train.jsonl", "--out", "adapter.gguf", "--rank", "0");

        Assert.Equal(2, failed.ExitCode);
        Assert.Contains("rank", Assert.Single(failed.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_folder, "adapter.gguf")));
    }

    private static string Example(string question, string answer) => JsonSerializer.Serialize(new
    {
        messages = new object[] { new { role = "user", content = question }, new { role = "assistant", content = answer } },
    });
}
