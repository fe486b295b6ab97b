using EvalMesh.Inference.Gguf;
using EvalMesh.Abstractions;
using EvalMesh.Inference.Llama;
using EvalMesh.Training.Data;
using Microsoft.Extensions.Options;

namespace EvalMesh.Training.Tests;

/// <summary>
/// End to end on the generated tiny model: the built-in trainer writes an adapter from JSONL, the GGUF validator accepts
/// it, the real llama.cpp host serves it, and llama.cpp gives held-out answers of the trained task a higher
/// log-probability with it than without.
/// </summary>
public sealed class AdapterTrainingTests(TinyModelFixture tiny) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("evalmesh-adapter-").FullName;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task TrainedAdapter_PassesTheValidator_LoadsInTheHost_AndRaisesHeldOutAnswers()
    {
        var train = Path.Combine(_folder, "train.jsonl");
        var heldOut = Path.Combine(_folder, "held-out.jsonl");
        SignalData.Write(train, count: 96, seed: 1);
        var validation = SignalData.Write(heldOut, count: 16, seed: 2);
        var output = Path.Combine(_folder, "signal.gguf");
        var job = new TrainingJob(tiny.Model, train, output) { ValidationData = heldOut, Settings = new() { Rank = 8, Alpha = 16, Epochs = 8, LearningRate = 5e-3f, BatchSize = 8, Seed = 7 } };
        var progress = new List<TrainingProgress>();
        var result = await new BuiltInTrainer().TrainAsync(job, new SynchronousProgress<TrainingProgress>(progress.Add), Token);

        // The trainer's own account: validation loss fell, one point per step, progress after every step.
        Assert.Equal(8 * 12, result.Steps);
        Assert.Equal(result.Steps, result.Curve.Count);
        Assert.True(result.FinalValidationLoss < result.InitialValidationLoss / 2, $"validation loss {result.InitialValidationLoss:F3} → {result.FinalValidationLoss:F3}");
        Assert.True(progress.Count >= result.Steps + 1 && progress.All(p => p.Step <= result.Steps));

        // The validator accepts it for its base, as the generated adapters.
        var info = GgufValidator.ValidateAdapter(output, GgufValidator.ValidateModel(tiny.Model));
        Assert.Equal((8, 16f, 2 * 7 * 2), (info.Rank, info.Alpha, info.TensorCount));
        Assert.Empty(Directory.GetFiles(_folder, "*.tmp"));

        // llama.cpp: the held-out answers (and EOS) are likelier with the adapter, and its mean loss per token is the
        // trainer's validation loss, so the file holds exactly what was trained.
        double before = 0, after = 0;
        long scoredTokens = 0;
        using (var vocabulary = TrainingVocabulary.Load(tiny.Model))
        using (var llama = new LlamaCpp(tiny.Model))
        {
            foreach (var (prompt, answer) in validation)
            {
                var sequence = vocabulary.Sequence(prompt, answer);
                var without = llama.LogProbability(sequence.Tokens, sequence.AnswerStart);
                var with = llama.LogProbability(sequence.Tokens, sequence.AnswerStart, output);
                Assert.True(with > without + 1, $"'{answer}': log p {without:F2} without the adapter, {with:F2} with it");
                (before, after, scoredTokens) = (before + without, after + with, scoredTokens + sequence.ScoredTokens);
            }
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"held-out log p per answer: {before / validation.Count:F2} → {after / validation.Count:F2}; {result.TokensPerSecond:F0} tokens/s");
        Assert.Equal(result.FinalValidationLoss!.Value, -after / scoredTokens, 3);

        // The model host (llama.cpp behind the project's own validation and adapter cache) serves it: greedy answers
        // of held-out prompts are the trained ones.
        using var host = new ModelHost(Options.Create(new ModelHostOptions { ContextSize = 2048 }));
        var correct = 0;
        foreach (var (prompt, answer) in validation)
        {
            var completion = await host.InferAsync(new ModelFiles(tiny.Model, output), new InferenceRequest(prompt, new GenerationOptions(MaxTokens: 8)), Token);
            correct += completion.Text.Trim() == answer ? 1 : 0;
            TestContext.Current.TestOutputHelper?.WriteLine($"'{answer}' -> '{completion.Text}' {completion.FinishReason}");
        }

        Assert.True(correct == validation.Count, $"{correct} of {validation.Count} greedy answers are right");
        Assert.Single(host.Residency.Resident);
    }

    /// <summary>Reports on the calling thread, unlike <see cref="Progress{T}"/>, so the list is complete when training returns.</summary>
    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
