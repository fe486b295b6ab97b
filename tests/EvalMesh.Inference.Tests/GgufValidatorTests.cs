using EvalMesh.Inference.Gguf;
using EvalMesh.Inference.Tiny;

namespace EvalMesh.Inference.Tests;

public sealed class GgufValidatorTests(TinyModelFixture tiny) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("evalmesh-gguf-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Corrupt(string name, byte[] content)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllBytes(path, content);
        return path;
    }

    private ModelFileInfo Base => GgufValidator.ValidateModel(tiny.Model);

    [Fact]
    public void Truncated_IsReportedAsTruncated()
    {
        var bytes = File.ReadAllBytes(tiny.Model);
        Assert.Equal(GgufProblem.Truncated, Assert.Throws<GgufException>(() => GgufValidator.ValidateModel(Corrupt("half.gguf", bytes[..(bytes.Length / 2)]))).Problem);
        Assert.Equal(GgufProblem.Truncated, Assert.Throws<GgufException>(() => GgufValidator.ValidateModel(Corrupt("head.gguf", bytes[..1000]))).Problem);
        Assert.Equal(GgufProblem.Truncated, Assert.Throws<GgufException>(() => GgufValidator.ValidateModel(Corrupt("tiny.gguf", bytes[..10]))).Problem);
    }

    [Fact]
    public void WrongMagic_WrongVersion_Empty_Missing()
    {
        var bytes = File.ReadAllBytes(tiny.Model);
        var magic = (byte[])bytes.Clone();
        magic[0] = (byte)'X';
        var version = (byte[])bytes.Clone();
        version[4] = 2;
        Assert.Equal(GgufProblem.WrongMagic, Assert.Throws<GgufException>(() => GgufValidator.ValidateModel(Corrupt("magic.gguf", magic))).Problem);
        Assert.Equal(GgufProblem.WrongVersion, Assert.Throws<GgufException>(() => GgufValidator.ValidateModel(Corrupt("version.gguf", version))).Problem);
        Assert.Equal(GgufProblem.Empty, Assert.Throws<GgufException>(() => GgufValidator.ValidateModel(Corrupt("empty.gguf", []))).Problem);
        Assert.Equal(GgufProblem.Missing, Assert.Throws<GgufException>(() => GgufValidator.ValidateModel(Path.Combine(_folder, "none.gguf"))).Problem);
    }

    [Fact]
    public void ModelGivenAsAdapter_IsNotAnAdapter_AndTheReverse()
    {
        Assert.Equal(GgufProblem.NotAnAdapter, Assert.Throws<GgufException>(() => GgufValidator.ValidateAdapter(tiny.Model, Base)).Problem);
        Assert.Equal(GgufProblem.NotAModel, Assert.Throws<GgufException>(() => GgufValidator.ValidateModel(tiny.Files.Adapters[0])).Problem);
    }

    [Fact]
    public void AdapterOfAnotherBase_IsRejected()
    {
        var other = TinyModel.Write(Path.Combine(_folder, "other"), seed: 7, adapters: 1);
        var ex = Assert.Throws<GgufException>(() => GgufValidator.ValidateAdapter(other.Adapters[0], Base));
        Assert.Equal(GgufProblem.AdapterForAnotherBase, ex.Problem);

        var bigger = TinyModel.Write(Path.Combine(_folder, "bigger"), seed: 42, adapters: 1, new TinyModelShape(Blocks: 3));
        var deeper = Assert.Throws<GgufException>(() => GgufValidator.ValidateAdapter(bigger.Adapters[0], Base));
        Assert.Equal(GgufProblem.AdapterForAnotherBase, deeper.Problem);
    }

    [Fact]
    public void AdapterWithWrongShapes_IsAShapeMismatch()
    {
        var path = Path.Combine(_folder, "shapes.gguf");
        new GgufWriter()
            .Add("general.architecture", "llama")
            .Add("general.type", "adapter")
            .Add("adapter.type", "lora")
            .Add("adapter.lora.alpha", 8f)
            .AddTensor("blk.0.attn_q.weight.lora_a", new float[32 * 4], 32, 4)
            .AddTensor("blk.0.attn_q.weight.lora_b", new float[4 * 64], 4, 64)
            .Write(path);
        var ex = Assert.Throws<GgufException>(() => GgufValidator.ValidateAdapter(path, Base));
        Assert.Equal(GgufProblem.ShapeMismatch, ex.Problem);
        Assert.Contains("blk.0.attn_q.weight", ex.Message);
    }
}
