using System.Text.Json;
using EvalMesh.Evaluation.Configuration;
using EvalMesh.Testing;

namespace EvalMesh.Client.Tests;

/// <summary>
/// What the HTTP flavour sends for a config: read back by the silo (<see cref="ConfigLoader.ParseSent"/>) and prepared
/// over what was uploaded, it gives the very run spec the client prepared from its own files, every setting included.
/// </summary>
public sealed class SentConfigTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    // Every key a config may have, with values other than the defaults, and text a JSON writer escapes.
    private const string EveryKey = """
        description: "every key: Ümlaut, 日本語, emoji 🦉, quotes \" and a tab\t"
        datasets:
          - name: slack
            generate: { kind: slack, messages: 12, seed: 9, cases-per-category: 1, workspace: acme }
          - name: unused
            generate: { kind: slack, messages: 4 }
        suites:
          - name: generated
            dataset: slack
            generated: true
          - name: retrieved
            dataset: slack
            generated: true
            context: { retrieve: bm25, k: 3 }
          - name: inline
            dataset: slack
            cases:
              - { id: a, question: "Who?", expected: [x, y], scorer: { type: contains, ignore-case: true, trim: false }, tags: [t1] }
              - { id: b, question: "How many?", expected: "3", scorer: { type: numeric, tolerance: 0.5 } }
              - { id: c, question: "Judge it", expected: ok, scorer: { type: llm-judge, rubric: "Be fair 🦉" } }
        formats: [toon, csv]
        tokenizers: [cl100k_base]
        adapters:
          - { name: mine, base: tiny, path: /models/mine.gguf }
        endpoints:
          - { name: tiny, type: llama, model: tiny-random, adapter: mine, max-tokens: 7, temperature: 0.7, top-p: 0.9, timeout-seconds: 30, max-concurrency: 3, chat-template: chatml }
          - { name: remote, type: openai, base-url: "http://127.0.0.1:9/v1", model: gpt, api-key-env: KEY, cache: false, rate-limit: { requests-per-minute: 600, tokens-per-minute: 90000, max-concurrency: 4 }, cost: { input-per-mtok: 0.15, output-per-mtok: 0.6 } }
          - { name: echo, type: echo }
        judge: { name: judge, type: openai, base-url: "https://judge.example/v1", model: j, max-tokens: 5 }
        prompt: |
          Given {{format}} 🦉:
          {{context}}
          Q: {{question}}
        system: "You answer from the records only."
        repeats: 4
        concurrency: 9
        schedule: fifo
        limit: 2
        recommend: { margin: 0.04, alpha: 0.01 }
        """;

    public static TheoryData<string> Configs() => ["slack-formats.yaml", "slack-formats-retrieved.yaml", "slack-loop.yaml", "echo-6k.yaml", "every key"];

    [Theory]
    [MemberData(nameof(Configs))]
    public async Task Write_ReadBackBySilo_PreparesTheSameSpec(string name)
    {
        var config = name == "every key"
            ? ConfigLoader.Parse(EveryKey, Path.Combine(Path.GetTempPath(), "every-key.yaml"))
            : ConfigLoader.Load(RepoPaths.Under(Path.Combine("client", "examples", name)));
        var store = new MemoryRunInputStore();
        var prepared = await RunSpecBuilder.PrepareAsync(config, store, cancellationToken: Token);
        await prepared.UploadMissingAsync(store, Token);

        var sent = ConfigLoader.ParseSent(SentConfig.Write(config, prepared), "request body");
        var puts = store.Puts;
        var onSilo = await RunSpecBuilder.PrepareAsync(sent, store, cancellationToken: Token);
        await onSilo.UploadMissingAsync(store, Token);

        Assert.Equal(JsonSerializer.Serialize(prepared.Spec), JsonSerializer.Serialize(onSilo.Spec));
        Assert.Equal(puts, store.Puts);
        Assert.Equal(config.Description, sent.Description);
        Assert.All(sent.Datasets, d => Assert.NotNull(d.Upload));
        Assert.All(sent.Suites, s => Assert.NotNull(s.Upload));
    }

    [Fact]
    public async Task PrepareAsync_WithALimit_StoresTheCasesTheRunUses_AndAnUploadTheLimitLeavesWholeAsItIs()
    {
        var store = new MemoryRunInputStore();
        var config = ConfigLoader.Parse(EveryKey, Path.Combine(Path.GetTempPath(), "every-key.yaml"));
        var prepared = await RunSpecBuilder.PrepareAsync(config, store, cancellationToken: Token);
        Assert.All(prepared.Spec.Suites, s => Assert.Equal(2, s.CaseCount));
        Assert.Equal("bm25, k = 3", prepared.Spec.Suites.Single(s => s.Name == "retrieved").Context);
        Assert.All(prepared.Suites, s => Assert.Equal(2, UploadContent.ReadCases(s.Content, "test").Count));
    }
}
