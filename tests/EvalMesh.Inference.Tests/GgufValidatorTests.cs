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

    // Found by GgufFuzzTests: each of these used to escape as an exception other than GgufException (FormatException,
    // DivideByZeroException, ArgumentException from a duplicate name, a stack overflow) or to pass as a valid file.
    [Theory]
    [InlineData("llama")]
    [InlineData(0u)]
    [InlineData(48u)]
    public void Alignment_ThatIsNotAU32PowerOfTwo_IsMalformed(object alignment)
    {
        var writer = new GgufWriter().Add("general.architecture", "llama");
        _ = alignment is string text ? writer.Add("general.alignment", text) : writer.Add("general.alignment", (uint)alignment);
        var ex = Assert.Throws<GgufException>(() => GgufFile.Read(Write(writer.AddTensor("t", new float[4], 4))));
        Assert.Equal(GgufProblem.Malformed, ex.Problem);
        Assert.Contains("general.alignment must be a power of two", ex.Message);
    }

    [Fact]
    public void TwoTensorsWithOneName_AreMalformed()
    {
        var ex = Assert.Throws<GgufException>(() => GgufValidator.ValidateModel(Write(new GgufWriter().AddTensor("token_embd.weight", new float[4], 4).AddTensor("token_embd.weight", new float[4], 4))));
        Assert.Equal(GgufProblem.Malformed, ex.Problem);
    }

    [Fact]
    public void TensorOffsetThatWrapsAroundPast2To64_IsTruncated()
    {
        // One tensor "t" of 4 floats: its offset is the u64 at byte 49, and its data starts at byte 64.
        var bytes = File.ReadAllBytes(Write(new GgufWriter().AddTensor("t", new float[4], 4)));
        BitConverter.TryWriteBytes(bytes.AsSpan(49), ulong.MaxValue - 63);
        Assert.Equal(GgufProblem.Truncated, Assert.Throws<GgufException>(() => GgufFile.Read(Corrupt("wrap.gguf", bytes))).Problem);
    }

    [Theory]
    [InlineData(8u, 1UL << 31, "a string of 2147483648 bytes")]
    [InlineData(9u, 1UL << 25, "an array of 33554432 items")]
    public void LengthFieldsBeyondAnyRealFile_AreMalformed(uint type, ulong length, string expected)
    {
        // One metadata entry "k" whose value is a string, or an array of u8, of that length; the file is 40 bytes.
        var header = Header(type, type == 9 ? [0, 0, 0, 0, .. BitConverter.GetBytes(length)] : BitConverter.GetBytes(length));
        var ex = Assert.Throws<GgufException>(() => GgufFile.Read(Corrupt("long.gguf", header)));
        Assert.Equal(GgufProblem.Malformed, ex.Problem);
        Assert.Contains(expected, ex.Message);
    }

    [Fact]
    public void ArraysOfArrays_AreMalformed_HoweverDeep()
    {
        var nested = Enumerable.Repeat<byte[]>([9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0], 200_000).SelectMany(level => level).ToArray();
        var ex = Assert.Throws<GgufException>(() => GgufFile.Read(Corrupt("nested.gguf", Header(9, nested))));
        Assert.Equal(GgufProblem.Malformed, ex.Problem);
        Assert.Contains("an array of arrays", ex.Message);
    }

    private string Write(GgufWriter writer)
    {
        var path = Path.Combine(_folder, $"{Guid.NewGuid():N}.gguf");
        writer.Write(path);
        return path;
    }

    // A GGUF v3 header with no tensors and one metadata entry "k" of the given type, followed by its value's bytes.
    private static byte[] Header(uint type, byte[] value) =>
        [.. "GGUF"u8, .. BitConverter.GetBytes(3u), .. BitConverter.GetBytes(0UL), .. BitConverter.GetBytes(1UL), .. BitConverter.GetBytes(1UL), (byte)'k', .. BitConverter.GetBytes(type), .. value];
}
