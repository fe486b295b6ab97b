using System.Numerics;
using CsCheck;
using EvalMesh.Inference.Gguf;
using EvalMesh.Inference.Tiny;
using EvalMesh.Testing;

namespace EvalMesh.Inference.Tests;

/// <summary>
/// The GGUF reader and validator fed random bytes, a generated tiny model and adapter with bytes flipped, inserted,
/// deleted or overwritten with boundary integers (lengths, counts, types, offsets), and files written with random
/// metadata and tensors: each validates or throws <see cref="GgufException"/>, nothing else, and a file the reader
/// accepts holds every byte its tensor table claims.
/// </summary>
public sealed class GgufFuzzTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("evalmesh-gguf-fuzz-").FullName;
    private readonly TinyModelFiles _tiny;
    private readonly ModelFileInfo _base;

    public GgufFuzzTests()
    {
        _tiny = TinyModel.Write(Path.Combine(_folder, "tiny"), seed: 5, adapters: 1, new TinyModelShape(Embedding: 8, Blocks: 1, Heads: 2, FeedForward: 16, ContextLength: 64, VocabularySize: 300));
        _base = GgufValidator.ValidateModel(_tiny.Model);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    // Little-endian integers at the edges of what the header's fields (u32 types and counts, u64 lengths and offsets) can hold.
    private static readonly Gen<byte[]> Token = Gen.OneOf(
        Gen.OneOf<ulong>(0, 1, 3, 4, 8, 12, 13, 32, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 1UL << 24, (1UL << 30) + 1, 1UL << 32, 1UL << 62, 1UL << 63, ulong.MaxValue).Select(BitConverter.GetBytes),
        Gen.UInt.Select(BitConverter.GetBytes),
        Gen.OneOf("GGUF"u8.ToArray(), new byte[64]),
        Gen.Byte.Array[1, 8]);

    private static readonly Gen<Entry> Metadata = Gen.Select(
        Gen.OneOf("general.architecture", "general.type", "general.alignment", "tokenizer.ggml.model", "llama.embedding_length", "llama.block_count",
            "llama.context_length", "adapter.type", "adapter.lora.alpha", TinyModel.FingerprintKey, TinyModel.BaseFingerprintKey, "x"),
        Gen.Int[0, 5],
        Gen.OneOf("llama", "model", "adapter", "lora", "gpt2", ""),
        Gen.OneOf(Gen.UInt[0, 80], Gen.UInt),
        (key, kind, text, number) => new Entry(key, kind, text, number));

    private static readonly Gen<TensorEntry> Tensor = Gen.Select(
        Gen.OneOf("token_embd.weight", "blk.0.attn_q.weight", "blk.0.attn_q.weight.lora_a", "blk.0.attn_q.weight.lora_b", "blk.9.ffn_up.weight.lora_a", "x"),
        Gen.ULong[1, 16].Array[1, 3],
        (name, dimensions) => new TensorEntry(name, dimensions));

    // The least a model and an adapter for the tiny base (n_embd 8) need; random entries are added after them.
    private static readonly Entry[] ModelMetadata = [new("general.architecture", 0, "llama", 0), new("general.type", 0, "model", 0), new("tokenizer.ggml.model", 0, "llama", 0), new("llama.embedding_length", 1, "", 8), new("llama.block_count", 1, "", 1)];
    private static readonly TensorEntry[] ModelTensors = [new("token_embd.weight", [8, 4])];
    private static readonly Entry[] AdapterMetadata = [new("general.architecture", 0, "llama", 0), new("general.type", 0, "adapter", 0), new("adapter.type", 0, "lora", 0), new("adapter.lora.alpha", 2, "", 12)];
    private static readonly TensorEntry[] AdapterTensors = [new("blk.0.attn_q.weight.lora_a", [8, 4]), new("blk.0.attn_q.weight.lora_b", [4, 8])];

    /// <summary>Reads one input the way a silo would: the table, then validation as a model or as an adapter for the base.</summary>
    private void Read(string path, bool asAdapter)
    {
        var file = GgufFile.Read(path);
        foreach (var tensor in file.Tensors.Where(t => t.Type is 0 or 1))
        {
            var bytes = tensor.Dimensions.Aggregate(BigInteger.One, (a, b) => a * b) * (tensor.Type == 0 ? 4 : 2);
            Assert.True(file.DataOffset + (BigInteger)tensor.Offset + bytes <= file.Length, $"the reader accepted '{tensor.Name}', whose data ends past the file");
        }

        if (asAdapter)
        {
            GgufValidator.ValidateAdapter(path, _base);
        }
        else
        {
            GgufValidator.ValidateModel(path);
        }
    }

    private string ScratchFile() => Path.Combine(_folder, $"{Environment.CurrentManagedThreadId}.gguf");

    private static (byte[] Bytes, int Header, bool AsAdapter) ValidFile(string path, bool asAdapter) => (File.ReadAllBytes(path), (int)GgufFile.Read(path).DataOffset, asAdapter);

    [Fact]
    public void ValidateFiles_OfAnyBytes_AcceptOrThrowGgufException()
    {
        // Most edits go to the header, metadata and tensor table: the bytes before the tensor data.
        var valid = Gen.OneOf(ValidFile(_tiny.Model, asAdapter: false), ValidFile(_tiny.Adapters[0], asAdapter: true));
        Fuzz.Parser(
            Gen.Frequency(
                (1, Gen.Select(Gen.Byte.Array[0, 128], Gen.Bool)),
                (2, valid.SelectMany(v => Gen.Const(v.Bytes).Mutated(Token).Select(bytes => (bytes, v.AsAdapter)))),
                (4, valid.SelectMany(v => Gen.Const(v.Bytes[..v.Header]).Mutated(Token).Select(head => ((byte[])[.. head, .. v.Bytes[v.Header..]], v.AsAdapter))))),
            input =>
            {
                var path = ScratchFile();
                File.WriteAllBytes(path, input.Item1);
                Read(path, input.Item2);
            },
            ciIterations: 5_000,
            [typeof(GgufException)],
            input => $"{input.Item1.Length} bytes, as {(input.Item2 ? "adapter" : "model")}: {Convert.ToHexString(input.Item1[..Math.Min(input.Item1.Length, 256)])}");
    }

    [Fact]
    public void ValidateFiles_WrittenWithRandomMetadataAndTensors_AcceptOrThrowGgufException() => Fuzz.Parser(
        Gen.Select(Gen.Bool, Metadata.Array[0, 4], Tensor.Array[0, 2]),
        input =>
        {
            var (asAdapter, metadata, tensors) = input;
            var writer = new GgufWriter();
            foreach (var entry in (asAdapter ? AdapterMetadata : ModelMetadata).Concat(metadata))
            {
                entry.AddTo(writer);
            }

            foreach (var tensor in (asAdapter ? AdapterTensors : ModelTensors).Concat(tensors))
            {
                tensor.AddTo(writer);
            }

            var path = ScratchFile();
            writer.Write(path);
            Read(path, asAdapter);
        },
        ciIterations: 5_000,
        [typeof(GgufException)],
        input => $"{(input.Item1 ? "adapter" : "model")} + {string.Join("; ", input.Item2.AsEnumerable())} + {string.Join("; ", input.Item3.AsEnumerable())}");

    /// <summary>A metadata entry: its value is <paramref name="Text"/> or <paramref name="Number"/> as the type <paramref name="Kind"/> picks.</summary>
    private sealed record Entry(string Key, int Kind, string Text, uint Number)
    {
        public void AddTo(GgufWriter writer) => _ = Kind switch
        {
            0 => writer.Add(Key, Text),
            1 => writer.Add(Key, Number),
            2 => writer.Add(Key, Number / 3f),
            3 => writer.Add(Key, Number % 2 == 0),
            4 => writer.Add(Key, (IReadOnlyList<string>)[Text]),
            _ => writer.Add(Key, (IReadOnlyList<int>)[(int)Number]),
        };
    }

    private sealed record TensorEntry(string Name, ulong[] Dimensions)
    {
        public void AddTo(GgufWriter writer) => writer.AddTensor(Name, new float[Dimensions.Aggregate(1UL, (a, b) => a * b)], Dimensions);

        public override string ToString() => $"{Name} [{string.Join(", ", Dimensions)}]";
    }
}
