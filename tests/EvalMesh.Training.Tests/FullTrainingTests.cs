using EvalMesh.Inference.Gguf;
using EvalMesh.Inference.Tiny;
using EvalMesh.Training.Data;
using EvalMesh.Training.Model;

namespace EvalMesh.Training.Tests;

/// <summary>Training every weight: the output is a whole model that llama.cpp runs as the trainer does.</summary>
public sealed class FullTrainingTests(TinyModelFixture tiny) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("evalmesh-full-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task FullTraining_WritesAModelWithTheBaseMetadataAndANewFingerprint_ThatLlamaCppRunsAsTrained()
    {
        var train = Path.Combine(_folder, "train.jsonl");
        var heldOut = Path.Combine(_folder, "held-out.jsonl");
        SignalData.Write(train, count: 32, seed: 5);
        SignalData.Write(heldOut, count: 8, seed: 6);
        var output = Path.Combine(_folder, "trained.gguf");
        var job = new TrainingJob(tiny.Model, train, output) { Mode = TrainingMode.Full, ValidationData = heldOut, Settings = new() { Epochs = 2, LearningRate = 2e-3f, Seed = 1 } };
        var result = await new BuiltInTrainer().TrainAsync(job, null, TestContext.Current.CancellationToken);
        Assert.True(result.FinalValidationLoss < result.InitialValidationLoss / 2, $"validation loss {result.InitialValidationLoss:F3} → {result.FinalValidationLoss:F3}");

        // The same metadata and vocabulary, a new fingerprint: the base's adapters no longer claim to fit it.
        var before = GgufFile.Read(tiny.Model);
        var after = GgufFile.Read(output);
        var fingerprint = after.GetString(TinyModel.FingerprintKey);
        Assert.StartsWith("trained-", fingerprint);
        Assert.Equal(before.Metadata.Keys, after.Metadata.Keys);
        Assert.All(before.Metadata.Where(m => m.Key != TinyModel.FingerprintKey), m => Assert.Equal(m.Value, after.Metadata[m.Key]));
        Assert.Equal(before.Tensors.Select(t => (t.Name, t.Shape)), after.Tensors.Select(t => (t.Name, t.Shape)));
        var info = GgufValidator.ValidateModel(output);
        var error = Assert.Throws<GgufException>(() => GgufValidator.ValidateAdapter(tiny.Files.Adapters[0], info));
        Assert.Equal(GgufProblem.AdapterForAnotherBase, error.Problem);

        // llama.cpp runs the trained weights as the trainer computes them, and they are not the base's.
        var trained = BaseModel.Load(output);
        int[] tokens;
        using (var vocabulary = TrainingVocabulary.Load(output))
        {
            tokens = vocabulary.Sequence(SignalData.Example(new Random(9)).Prompt, "stop the car").Tokens;
        }

        var ours = new Transformer<float>(trained.Weights).Logits(tokens, new Workspace<float>(trained.Config, 0, tokens.Length));
        var original = new Transformer<float>(BaseModel.Load(tiny.Model).Weights).Logits(tokens, new Workspace<float>(trained.Config, 0, tokens.Length));
        using var llama = new LlamaCpp(output);
        var theirs = llama.Logits(tokens);
        var v = trained.Config.Vocabulary;
        var maxAbs = Enumerable.Range(0, tokens.Length * v).Max(i => Math.Abs(ours[i] - theirs[i / v][i % v]));
        var change = Enumerable.Range(0, tokens.Length * v).Max(i => Math.Abs(ours[i] - original[i]));
        Assert.True(maxAbs < 2e-4, $"max |Δlogit| {maxAbs:E2}");
        Assert.True(change > 1, $"training moved logits by only {change:E2}");
    }
}
