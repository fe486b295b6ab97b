using EvalMesh.Testing;
using Microsoft.AspNetCore.Http;

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
        var made = await Run("models", "make-tiny", "--random", "--out", "models", "--seed", "3", "--adapters", "2");
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
    public async Task Run_AModelHostSettingFromTheEnvironment_ReachesTheEmbeddedSilo_AndABadOneIsOneLine()
    {
        // As on a silo: EvalMesh__ModelHost__* settings apply to the CLI's embedded silo, and are checked there.
        await File.WriteAllTextAsync(Path.Combine(_folder, "one.yaml"), """
            datasets:
              - name: slack
                generate: { kind: slack, messages: 4, seed: 7, cases-per-category: 1, categories: [index] }
            suites:
              - { name: slack, dataset: slack, generated: true }
            formats: [csv]
            endpoints:
              - { name: tiny, type: llama, model: tiny-random, max-tokens: 2 }
            """, TestContext.Current.CancellationToken);
        var environment = new Dictionary<string, string> { ["EVALMESH_HOME"] = Path.Combine(_folder, "home"), ["EvalMesh__ModelHost__MaxContexts"] = "0" };
        var run = await CliRunner.RunAsync(_folder, environment, "run", "one.yaml");
        Assert.Equal(2, run.ExitCode);
        Assert.Equal("evalmesh: error: EvalMesh:ModelHost:MaxContexts must be at least 1 (environment variable EvalMesh__ModelHost__MaxContexts)", run.Stderr.Trim());
    }

    [Fact]
    public async Task InferAgainstTheGateway_StreamsTheSameAnswerAsTheLocalModel()
    {
        var cache = Path.Combine(_folder, "cache");
        await using var silo = await SiloProcess.StartEmbeddedAsync(Path.Combine(_folder, "data"), new Dictionary<string, string> { ["EVALMESH_CACHE"] = cache });
        var environment = new Dictionary<string, string> { ["EVALMESH_CACHE"] = cache };
        string[] prompt = ["--prompt", "Which messages mention BigQuery?", "--max-tokens", "24"];
        var local = await CliRunner.RunAsync(_folder, environment, ["infer", "--model", "tiny-random", "--adapter", "adapter-1", .. prompt, "--json"]);
        Assert.Equal(0, local.ExitCode);
        var text = JsonDocument.Parse(local.Stdout).RootElement.GetProperty("text").GetString();

        // Streamed through EvalMesh's own OpenAI-compatible gateway (server-sent events), and whole.
        string[] gateway = ["infer", "--endpoint", $"http://127.0.0.1:{silo.HttpPort}/v1", "--model-name", "tiny-random:adapter-1", .. prompt];
        var streamed = await CliRunner.RunAsync(_folder, environment, gateway);
        Assert.True(streamed.ExitCode == 0, streamed.Stderr);
        Assert.Equal(text + Environment.NewLine, streamed.Stdout);
        var whole = await CliRunner.RunAsync(_folder, environment, [.. gateway, "--json"]);
        Assert.Equal(text, JsonDocument.Parse(whole.Stdout).RootElement.GetProperty("text").GetString());
        Assert.Equal(24, JsonDocument.Parse(whole.Stdout).RootElement.GetProperty("completionTokens").GetInt32());

        // Sampling settings reach the model through the gateway: a nucleus of (almost) only the likeliest token is
        // greedy, whatever the temperature; the whole distribution is not.
        string[] hot = ["--temperature", "1.5", "--seed", "5", "--json"];
        var nucleus = await CliRunner.RunAsync(_folder, environment, [.. gateway, .. hot, "--top-p", "0.000001"]);
        var sampled = await CliRunner.RunAsync(_folder, environment, [.. gateway, .. hot]);
        Assert.Equal(text, JsonDocument.Parse(nucleus.Stdout).RootElement.GetProperty("text").GetString());
        Assert.NotEqual(text, JsonDocument.Parse(sampled.Stdout).RootElement.GetProperty("text").GetString());

        // A model the gateway does not have is one clear line, streamed or not.
        var unknown = await CliRunner.RunAsync(_folder, environment, ["infer", "--endpoint", $"http://127.0.0.1:{silo.HttpPort}/v1", "--model-name", "tiny-random:adapter-9", .. prompt]);
        Assert.NotEqual(0, unknown.ExitCode);
        Assert.Contains("tiny-random:adapter-9", unknown.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", unknown.Stderr + unknown.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InferAgainstAStreamThatBreaksOff_PrintsWhatCame_ThenOneClearLine()
    {
        await using var endpoint = await ScriptedOpenAiServer.StartAsync();
        endpoint.Default = ScriptedOpenAiServer.Body("data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\ndata: {\"error\":{\"message\":\"the model crashed\"}}\n\n");
        var result = await Run("infer", "--endpoint", endpoint.BaseUrl.ToString(), "--model-name", "scripted", "--prompt", "hi");
        Assert.Equal(3, result.ExitCode);
        Assert.StartsWith("Hel", result.Stdout, StringComparison.Ordinal);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("the model crashed", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr + result.Stdout, StringComparison.Ordinal);
        Assert.True(endpoint.Requests.Single().Body["stream"]!.GetValue<bool>());
    }

    [Fact]
    public async Task InferAgainstAStreamThatStalls_PrintsWhatCame_ThenGivesUpAfterTheTimeout()
    {
        await using var endpoint = await ScriptedOpenAiServer.StartAsync();
        endpoint.Default = async context =>
        {
            await context.Response.WriteAsync("data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n", context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            await ScriptedOpenAiServer.Hang(TimeSpan.FromSeconds(30))(context);
        };
        var result = await Run("infer", "--endpoint", endpoint.BaseUrl.ToString(), "--model-name", "scripted", "--prompt", "hi", "--timeout-seconds", "1");
        Assert.Equal(3, result.ExitCode);
        Assert.StartsWith("Hel", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("the stream sent nothing for 1 s", Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MakeTiny_WithoutRandom_WritesTheShippedTrainedModel_AndRefusesTheRandomModelsOptions()
    {
        var made = await Run("models", "make-tiny", "--out", "trained");
        Assert.Equal(0, made.ExitCode);
        var shipped = Inference.Tiny.TinyModel.WriteTrained(Path.Combine(_folder, "shipped"));
        Assert.Equal(File.ReadAllBytes(shipped.Model), File.ReadAllBytes(Path.Combine(_folder, "trained", "tiny-llama.gguf")));
        Assert.Equal(File.ReadAllBytes(shipped.Adapters[0]), File.ReadAllBytes(Path.Combine(_folder, "trained", "adapter-1.gguf")));

        var seeded = await Run("models", "make-tiny", "--out", "other", "--seed", "3");
        Assert.Equal(2, seeded.ExitCode);
        Assert.Equal("evalmesh: error: '--seed': only shapes the random model: add --random, or leave it out to write the trained model", seeded.Stderr.Trim());
        Assert.False(Directory.Exists(Path.Combine(_folder, "other")));
    }

    [Fact]
    public async Task CorruptFiles_ExitWithOneClearLine()
    {
        await Run("models", "make-tiny", "--random", "--out", "models", "--adapters", "1");
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
