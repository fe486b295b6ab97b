using System.Text;
using System.Text.Json;
using EvalMesh.Abstractions;
using EvalMesh.Inference.Llama;
using EvalMesh.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace EvalMesh.Grains.Tests;

/// <summary>Training jobs on a silo: an adapter slot while they run, then a registered adapter the routing serves.</summary>
public sealed class TrainingGrainTests : IAsyncLifetime
{
    private const int Slots = 3;

    private readonly EvalMeshTestCluster _cluster = new(1, 0, services => services.Configure<ModelHostOptions>(o => o.MaxAdapters = Slots));

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync() => _cluster.InitializeAsync();

    public ValueTask DisposeAsync() => _cluster.DisposeAsync();

    private static string Examples(int count, int offset = 0)
    {
        var lines = new StringBuilder();
        for (var i = offset; i < offset + count; i++)
        {
            var example = new { messages = new object[] { new { role = "user", content = $"Which channel is message {i} in?" }, new { role = "assistant", content = i % 2 == 0 ? "#data-eng" : "#random" } } };
            lines.AppendLine(JsonSerializer.Serialize(example));
        }

        return lines.ToString();
    }

    private async Task<TrainingStatus> WaitAsync(string job, Func<TrainingStatus, bool> until, string what)
    {
        TrainingStatus status = null!;
        await Poll.UntilAsync(async () => until(status = await _cluster.Cluster.Client.GetTraining(job).GetStatusAsync()), TimeSpan.FromMinutes(5), what);
        return status;
    }

    [Fact]
    public async Task Job_HoldsAnAdapterSlotWhileItTrains_ThenRegistersAnAdapterThatServes()
    {
        var started = await _cluster.Cluster.Client.GetTraining("job-1").StartAsync(new TrainingRequest("tiny-random", "channels", Examples(160), Examples(16, offset: 1000)) { Settings = new() { Epochs = 4 } });
        Assert.Equal(TrainingState.Running, started.State);

        await Poll.UntilAsync(async () => (await _cluster.Client.GetResidencyAsync(Token)).Silos.SingleOrDefault()?.Capacity == Slots - 1, TimeSpan.FromMinutes(2), "the silo to report one slot fewer while training");
        var done = await WaitAsync("job-1", s => s.IsFinished, "the job to finish");
        Assert.True(done.State == TrainingState.Completed, done.Error);
        Assert.True(done.ValidationLoss < done.InitialValidationLoss, $"validation loss {done.InitialValidationLoss} -> {done.ValidationLoss}");
        Assert.Equal((160 * 4 + 7) / 8, done.TotalSteps);
        Assert.Equal(done.TotalSteps, done.Step);

        Assert.Contains(await _cluster.Client.ListAdaptersAsync(Token), a => a.Model == "tiny-random" && a.Name == "channels" && a.Path == done.Adapter!.Path);
        var reply = await _cluster.Client.InferAsync("tiny-random:channels", "Which channel is message 1001 in?", new GenerationOptions(4), Token);
        Assert.True(reply.CompletionTokens > 0);
        await Poll.UntilAsync(async () => (await _cluster.Client.GetResidencyAsync(Token)).Silos.SingleOrDefault()?.Capacity == Slots, TimeSpan.FromSeconds(30), "the slot to be given back");
    }

    [Fact]
    public async Task Job_WithMalformedExamples_FailsSayingWhichLine_AndRegistersNothing()
    {
        await _cluster.Cluster.Client.GetTraining("job-bad").StartAsync(new TrainingRequest("tiny-random", "broken", Examples(3) + "{\"messages\": [}\n"));
        var done = await WaitAsync("job-bad", s => s.IsFinished, "the job to fail");
        Assert.Equal(TrainingState.Failed, done.State);
        Assert.Contains("train.jsonl:4:", done.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(await _cluster.Client.ListAdaptersAsync(Token), a => a.Name == "broken");
    }
}
