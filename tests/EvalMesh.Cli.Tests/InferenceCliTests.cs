using EvalMesh.Testing;

using System.Text.Json;

namespace EvalMesh.Cli.Tests;

public sealed class InferenceCliTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("evalmesh-cli-models-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private Task<ProgramResult> Run(params string[] args) => CliRunner.RunAsync(_folder, args);

    [Fact]
    public async Task MakeTinyThenInfer_WorksWithAndWithoutAnAdapter()
    {
        var made = await Run("models", "make-tiny", "--out", "models", "--seed", "3", "--adapters", "2");
        Assert.Equal(0, made.ExitCode);
        Assert.Contains("tiny-llama.gguf", made.Stdout);
        Assert.True(File.Exists(Path.Combine(_folder, "models", "adapter-2.gguf")));

        var plain = await Run("infer", "--model", "models/tiny-llama.gguf", "--max-tokens", "6", "--prompt", "Which messages mention BigQuery?", "--json");
        var adapted = await Run("infer", "--model", "models/tiny-llama.gguf", "--adapter", "models/adapter-1.gguf", "--max-tokens", "6", "--prompt", "Which messages mention BigQuery?", "--json");
        Assert.Equal(0, plain.ExitCode);
        Assert.Equal(0, adapted.ExitCode);
        using var a = JsonDocument.Parse(plain.Stdout);
        using var b = JsonDocument.Parse(adapted.Stdout);
        Assert.Equal(6, a.RootElement.GetProperty("completionTokens").GetInt32());
        Assert.NotEqual(a.RootElement.GetProperty("text").GetString(), b.RootElement.GetProperty("text").GetString());

        // Without --json the text is printed as it is generated: the same text.
        var streamed = await Run("infer", "--model", "models/tiny-llama.gguf", "--max-tokens", "6", "--prompt", "Which messages mention BigQuery?");
        Assert.Equal(0, streamed.ExitCode);
        Assert.Equal(a.RootElement.GetProperty("text").GetString() + Environment.NewLine, streamed.Stdout);
    }

    [Fact]
    public async Task CorruptFiles_ExitWithOneClearLine()
    {
        await Run("models", "make-tiny", "--out", "models", "--adapters", "1");
        var bytes = File.ReadAllBytes(Path.Combine(_folder, "models", "tiny-llama.gguf"));
        File.WriteAllBytes(Path.Combine(_folder, "truncated.gguf"), bytes[..4000]);
        File.WriteAllBytes(Path.Combine(_folder, "empty.gguf"), []);

        foreach (var (args, expected) in new[]
        {
            (new[] { "--model", "truncated.gguf" }, "truncated GGUF file"),
            (new[] { "--model", "empty.gguf" }, "empty file"),
            (new[] { "--model", "models/adapter-1.gguf" }, "not a model"),
            (new[] { "--model", "models/tiny-llama.gguf", "--adapter", "models/tiny-llama.gguf" }, "not a LoRA adapter"),
            (new[] { "--model", "missing.gguf" }, "file not found"),
        })
        {
            var result = await Run(["infer", .. args, "--prompt", "hi"]);
            Assert.Equal(2, result.ExitCode);
            var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Contains(expected, line);
            Assert.DoesNotContain("   at ", result.Stderr);
        }
    }
}
