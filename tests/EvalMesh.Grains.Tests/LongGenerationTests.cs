using EvalMesh.Abstractions;
using EvalMesh.Evaluation.Configuration;
using EvalMesh.Testing;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;

namespace EvalMesh.Grains.Tests;

/// <summary>A local generation that takes longer than Orleans' response timeout, which is made short here rather than the generation long.</summary>
public sealed class LongGenerationTests : IAsyncLifetime
{
    private static readonly TimeSpan ResponseTimeout = TimeSpan.FromSeconds(1);

    private readonly EvalMeshTestCluster _cluster = new(1, 0, services => services.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = ResponseTimeout));

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync() => _cluster.InitializeAsync();

    public ValueTask DisposeAsync() => _cluster.DisposeAsync();

    [Fact]
    public async Task EvalCell_WhoseGenerationOutlivesTheResponseTimeout_GetsItsWholeAnswer()
    {
        var config = ConfigLoader.Parse("""
            datasets:
              - name: slack
                generate: { kind: slack, messages: 4, seed: 3, cases-per-category: 1 }
            suites:
              - name: slack
                dataset: slack
                generated: true
            formats: [csv]
            endpoints:
              - { name: long, type: llama, model: tiny-random, max-tokens: 8000 }
            limit: 1
            """, "/tmp/long.yaml");
        var started = await _cluster.Client.StartRunAsync(config, cancellationToken: Token);
        await Poll.UntilAsync(async () => (await _cluster.Client.GetRunAsync(started.RunId, Token)).IsFinished, TimeSpan.FromMinutes(3), "the run to finish");

        var cells = new List<CellResult>();
        await foreach (var cell in _cluster.Client.GetResultsAsync(started.RunId, Token))
        {
            cells.Add(cell);
        }

        var only = Assert.Single(cells);
        Assert.NotEqual(CellOutcome.Error, only.Outcome);
        Assert.Equal(8000, only.CompletionTokens);
        Assert.True(only.LatencyMs > ResponseTimeout.TotalMilliseconds, $"the generation took {only.LatencyMs:0} ms, not longer than the response timeout: it tests nothing");
    }

    [Fact]
    public async Task Completion_WhoseGenerationOutlivesTheResponseTimeout_ReturnsItsReply_AndSoDoesItsStream()
    {
        const string Prompt = "Count to a thousand:";
        var options = new GenerationOptions(8000);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var reply = await _cluster.Client.InferAsync("tiny-random", Prompt, options, Token);
        Assert.True(watch.Elapsed > ResponseTimeout, $"the generation took {watch.Elapsed}, not longer than the response timeout: it tests nothing");
        Assert.Equal((8000, "length"), (reply.CompletionTokens, reply.FinishReason));

        var text = new System.Text.StringBuilder();
        InferenceReply? streamed = null;
        await foreach (var chunk in _cluster.Client.StreamInferenceAsync("tiny-random", Prompt, options, Token))
        {
            text.Append(chunk.Text);
            streamed ??= chunk.Reply;
        }

        Assert.Equal(8000, streamed!.CompletionTokens);
        Assert.Equal(streamed.Text, text.ToString());
    }
}
