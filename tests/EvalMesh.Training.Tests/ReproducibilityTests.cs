namespace EvalMesh.Training.Tests;

/// <summary>The same job with the same seed (and threads) writes the same bytes; another seed does not.</summary>
public sealed class ReproducibilityTests(TinyModelFixture tiny) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("evalmesh-repro-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task SameSeed_WritesAByteIdenticalAdapter_AnotherSeedDoesNot()
    {
        var data = Path.Combine(_folder, "train.jsonl");
        SignalData.Write(data, count: 24, seed: 8);
        var trainer = new BuiltInTrainer(new BuiltInTrainerOptions { Threads = 2 });
        // The adapter's general.name is its file name: each run writes adapter.gguf in a folder of its own.
        async Task<byte[]> Train(string run, int seed)
        {
            var job = new TrainingJob(tiny.Model, data, Path.Combine(_folder, run, "adapter.gguf")) { Settings = new() { Epochs = 1, BatchSize = 6, Rank = 4, Seed = seed } };
            await trainer.TrainAsync(job, null, TestContext.Current.CancellationToken);
            return File.ReadAllBytes(job.Output);
        }

        var first = await Train("a", seed: 3);
        var again = await Train("b", seed: 3);
        var other = await Train("c", seed: 4);
        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
    }
}
