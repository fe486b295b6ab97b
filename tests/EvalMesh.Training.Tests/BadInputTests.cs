using EvalMesh.Inference.Gguf;
using EvalMesh.Inference.Tiny;

namespace EvalMesh.Training.Tests;

/// <summary>
/// A user's mistakes: each is one <see cref="TrainingException"/> whose one-line message names the file (and the line
/// of a JSONL file) and the problem, and nothing is written.
/// </summary>
public sealed class BadInputTests(TinyModelFixture tiny) : IDisposable
{
    private const string Good = """{"messages":[{"role":"user","content":"Question: 2+2?\nAnswer:"},{"role":"assistant","content":"4"}]}""";

    private readonly string _folder = Directory.CreateTempSubdirectory("evalmesh-bad-").FullName;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [InlineData("{not json", "not JSON")]
    [InlineData("""{"prompt":"2+2","completion":"4"}""", "\"messages\" array")]
    [InlineData("""{"messages":[]}""", "\"messages\" is empty")]
    [InlineData("""{"messages":[{"role":"user","content":"2+2?"}]}""", "not the assistant")]
    [InlineData("""{"messages":[{"role":"assistant","content":"4"}]}""", "no message before")]
    [InlineData("""{"messages":[{"role":"tool","content":"x"},{"role":"assistant","content":"4"}]}""", "role 'tool'")]
    [InlineData("""{"messages":[{"role":"user"},{"role":"assistant","content":"4"}]}""", "no \"content\"")]
    [InlineData("""{"messages":[{"role":"user","content":"2+2?"},{"role":"assistant","content":"  "}]}""", "answer is empty")]
    public async Task MalformedLine_NamesTheFileAndTheLine(string line, string expected)
    {
        var data = Data(Good, string.Empty, line);
        var error = await Fails(Job(data), TrainingProblem.MalformedData);
        Assert.Equal(3, error.Line);
        Assert.StartsWith($"{data}:3: ", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public async Task MissingTrainingFile_IsDataMissing()
    {
        var error = await Fails(Job(Path.Combine(_folder, "nowhere.jsonl")), TrainingProblem.DataMissing);
        Assert.EndsWith("nowhere.jsonl", error.Path);
    }

    [Fact]
    public async Task FileWithOnlyBlankLines_HasNoUsableExample()
    {
        var data = Data(string.Empty, "   ");
        await Fails(Job(data), TrainingProblem.NoUsableExamples);
    }

    [Fact]
    public async Task ExamplesLongerThanTheMaximum_LeaveNoUsableExample()
    {
        var data = Data(Good, Good);
        var error = await Fails(Job(data) with { Settings = new() { Epochs = 1, Rank = 4, MaxSequenceLength = 4 } }, TrainingProblem.NoUsableExamples);
        Assert.Contains("all 2 examples are longer than the maximum sequence length of 4 tokens", error.Message);
    }

    [Fact]
    public async Task BadValidationFile_NamesTheValidationFile()
    {
        var validation = Data("""{"messages":[{"role":"user","content":"x"}]}""");
        var error = await Fails(Job(Data(Good)) with { ValidationData = validation }, TrainingProblem.MalformedData);
        Assert.Equal(validation, error.Path);
    }

    [Fact]
    public async Task RankAboveTheTensorSize_NamesTheBaseAndTheLimit()
    {
        var error = await Fails(Job(Data(Good)) with { Settings = new() { Epochs = 1, Rank = 65 } }, TrainingProblem.RankTooLarge);
        Assert.Equal(tiny.Model, error.Path);
        Assert.Contains("at most 64", error.Message);
    }

    [Theory]
    [InlineData("epochs")]
    [InlineData("learning rate")]
    [InlineData("rank")]
    [InlineData("overwrite")]
    public async Task SettingOutOfRange_IsInvalidSetting(string setting)
    {
        var job = Job(Data(Good));
        job = setting switch
        {
            "epochs" => job with { Settings = job.Settings with { Epochs = 0 } },
            "learning rate" => job with { Settings = job.Settings with { LearningRate = float.NaN } },
            "rank" => job with { Settings = job.Settings with { Rank = 0 } },
            _ => job with { Output = tiny.Model },
        };
        var error = await Fails(job, TrainingProblem.InvalidSetting);
        Assert.Contains(setting, error.Message);
    }

    [Fact]
    public async Task BaseOfAnotherArchitecture_IsUnsupported()
    {
        var model = Path.Combine(_folder, "gpt2.gguf");
        new GgufWriter()
            .Add("general.architecture", "gpt2")
            .Add("tokenizer.ggml.model", "gpt2")
            .Add("gpt2.embedding_length", 8u)
            .Add("gpt2.block_count", 1u)
            .AddTensor("token_embd.weight", new float[8 * 4], 8, 4)
            .Write(model);
        var error = await Fails(Job(Data(Good)) with { BaseModel = model }, TrainingProblem.UnsupportedModel);
        Assert.Contains("architecture is 'gpt2'", error.Message);
    }

    [Fact]
    public async Task GroupedQueryAttention_IsUnsupported()
    {
        var model = Path.Combine(_folder, "gqa.gguf");
        new GgufWriter()
            .Add("general.architecture", "llama")
            .Add("tokenizer.ggml.model", "llama")
            .Add("llama.embedding_length", 8u)
            .Add("llama.block_count", 1u)
            .Add("llama.feed_forward_length", 16u)
            .Add("llama.attention.head_count", 2u)
            .Add("llama.attention.head_count_kv", 1u)
            .Add("llama.attention.layer_norm_rms_epsilon", 1e-5f)
            .AddTensor("token_embd.weight", new float[8 * 4], 8, 4)
            .Write(model);
        var error = await Fails(Job(Data(Good)) with { BaseModel = model }, TrainingProblem.UnsupportedModel);
        Assert.Contains("grouped-query attention (1 key/value heads for 2 heads)", error.Message);
    }

    [Fact]
    public async Task NonF32Tensor_IsNamed()
    {
        var model = Path.Combine(_folder, "f16.gguf");
        File.WriteAllBytes(model, WithTensorType(File.ReadAllBytes(tiny.Model), "blk.1.ffn_up.weight", type: 1));
        var error = await Fails(Job(Data(Good)) with { BaseModel = model }, TrainingProblem.UnsupportedTensorType);
        Assert.Equal(model, error.Path);
        Assert.Contains("tensor 'blk.1.ffn_up.weight' has ggml type F16", error.Message);
    }

    [Fact]
    public async Task MissingBase_IsUnreadable()
    {
        var error = await Fails(Job(Data(Good)) with { BaseModel = Path.Combine(_folder, "none.gguf") }, TrainingProblem.BaseModelUnreadable);
        Assert.Contains("file not found", error.Message);
    }

    [Fact]
    public async Task OutputUnderAFile_FailsBeforeTraining()
    {
        var blocker = Data(Good);
        var error = await Fails(Job(Data(Good)) with { Output = Path.Combine(blocker, "adapter.gguf") }, TrainingProblem.OutputFailed);
        Assert.EndsWith("adapter.gguf", error.Path);
        Assert.Contains("is a file, not a folder", error.Message);
    }

    [Fact]
    public async Task Cancellation_WritesNothing_AndLeavesAnExistingOutputAlone()
    {
        var data = Path.Combine(_folder, "signal.jsonl");
        SignalData.Write(data, count: 64, seed: 3);
        var output = Path.Combine(_folder, "adapter.gguf");
        File.WriteAllText(output, "the previous adapter");
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(Token);
        var steps = 0;
        var progress = new Inline<TrainingProgress>(p =>
        {
            if (p.Step == 2)
            {
                cancellation.Cancel();
            }

            steps = p.Step;
        });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new BuiltInTrainer().TrainAsync(Job(data) with { Output = output, Settings = new() { Epochs = 1, Rank = 4, BatchSize = 4 } }, progress, cancellation.Token));
        Assert.Equal(2, steps);
        Assert.Equal("the previous adapter", File.ReadAllText(output));
        Assert.Equal(new[] { data, output }.Order(), Directory.GetFiles(_folder).Order());
    }

    private TrainingJob Job(string data) => new(tiny.Model, data, Path.Combine(_folder, "out", "adapter.gguf")) { Settings = new() { Epochs = 1, Rank = 4 } };

    private string Data(params string[] lines)
    {
        var path = Path.Combine(_folder, $"data-{Guid.NewGuid():N}.jsonl");
        File.WriteAllLines(path, lines);
        return path;
    }

    private async Task<TrainingException> Fails(TrainingJob job, TrainingProblem problem)
    {
        var error = await Assert.ThrowsAsync<TrainingException>(() => new BuiltInTrainer().TrainAsync(job, null, Token));
        Assert.Equal(problem, error.Problem);
        Assert.DoesNotContain('\n', error.Message);
        Assert.False(File.Exists(job.Output) && job.Output != tiny.Model, "an output was written");
        Assert.False(Directory.Exists(Path.Combine(_folder, "out")), "the output's folder was created");
        TestContext.Current.TestOutputHelper?.WriteLine(error.Message);
        return error;
    }

    // Sets the ggml type of a tensor in a GGUF's tensor table: after its name come n_dims (u32), the dims (u64 each)
    // and the type (u32). A smaller type keeps every tensor inside the file, so only the trainer's own check objects.
    private static byte[] WithTensorType(byte[] file, string tensor, uint type)
    {
        var name = System.Text.Encoding.UTF8.GetBytes(tensor);
        var at = file.AsSpan().IndexOf(name) + name.Length;
        var dimensions = BitConverter.ToUInt32(file, at);
        BitConverter.TryWriteBytes(file.AsSpan(at + 4 + (8 * (int)dimensions), 4), type);
        return file;
    }

    private sealed class Inline<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
