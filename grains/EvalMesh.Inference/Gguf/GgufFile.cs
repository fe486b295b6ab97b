using System.Numerics;
using System.Text;

namespace EvalMesh.Inference.Gguf;

/// <summary>One tensor's description in a GGUF file.</summary>
/// <param name="Name">The tensor name, such as <c>blk.0.attn_q.weight</c>.</param>
/// <param name="Dimensions">ne[0], ne[1], …: ne[0] is the innermost (input) dimension.</param>
/// <param name="Type">The ggml type id (0 = F32, 1 = F16, …).</param>
/// <param name="Offset">Offset of the data from the start of the tensor data section.</param>
public sealed record GgufTensorInfo(string Name, IReadOnlyList<ulong> Dimensions, uint Type, ulong Offset)
{
    /// <summary>The number of elements.</summary>
    /// <exception cref="OverflowException">The shape has more than 2^64 elements.</exception>
    public ulong ElementCount => Dimensions.Aggregate(1UL, (a, b) => checked(a * b));

    /// <summary>The shape as text, such as <c>[64, 128]</c>.</summary>
    public string Shape => $"[{string.Join(", ", Dimensions)}]";
}

/// <summary>The header, metadata and tensor table of a GGUF file, read without loading tensor data.</summary>
public sealed class GgufFile
{
    /// <summary>The only version this reader and writer use.</summary>
    public const uint SupportedVersion = 3;

    // Far beyond any real file's strings (chat templates, an embedded tokenizer.json) and arrays (vocabularies, merges),
    // and small enough that a corrupt length field cannot ask for more memory than a process has.
    private const ulong MaxStringBytes = 1 << 30;
    private const ulong MaxArrayItems = 1 << 24;

    internal GgufFile(string path, uint version, IReadOnlyDictionary<string, object> metadata, IReadOnlyList<GgufTensorInfo> tensors, long dataOffset, long length)
    {
        Path = path;
        Version = version;
        Metadata = metadata;
        Tensors = tensors;
        DataOffset = dataOffset;
        Length = length;
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>The GGUF version.</summary>
    public uint Version { get; }

    /// <summary>Metadata values: strings, numbers, booleans or arrays (object[]).</summary>
    public IReadOnlyDictionary<string, object> Metadata { get; }

    /// <summary>The tensor table.</summary>
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }

    /// <summary>Where tensor data starts.</summary>
    public long DataOffset { get; }

    /// <summary>The file's length in bytes when it was read.</summary>
    public long Length { get; }

    /// <summary>A string metadata value, or null.</summary>
    public string? GetString(string key) => Metadata.TryGetValue(key, out var value) ? value as string : null;

    /// <summary>A numeric metadata value as a double, or null.</summary>
    public double? GetNumber(string key) => Metadata.TryGetValue(key, out var value) && value is IConvertible and not string and not bool
        ? Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture)
        : null;

    /// <summary>Reads a GGUF file's header, metadata and tensor table, checking that the tensor data is all there.</summary>
    /// <exception cref="GgufException">The file is missing, empty, truncated, not GGUF, of another version or malformed.</exception>
    public static GgufFile Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new GgufException(path, GgufProblem.Missing, "no such file");
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var length = stream.Length;
        if (length == 0)
        {
            throw new GgufException(path, GgufProblem.Empty, "0 bytes");
        }

        using var reader = new BinaryReader(stream, Encoding.UTF8);
        try
        {
            return ReadFrom(path, reader, length);
        }
        catch (EndOfStreamException)
        {
            throw new GgufException(path, GgufProblem.Truncated, $"the file ends at byte {length} inside the header or metadata");
        }
    }

    private static GgufFile ReadFrom(string path, BinaryReader reader, long length)
    {
        var magic = reader.ReadBytes(4);
        if (magic.Length < 4)
        {
            throw new EndOfStreamException();
        }

        if (!magic.AsSpan().SequenceEqual("GGUF"u8))
        {
            throw new GgufException(path, GgufProblem.WrongMagic, $"it starts with {Convert.ToHexString(magic)} instead of 47475546 (\"GGUF\")");
        }

        var version = reader.ReadUInt32();
        if (version != SupportedVersion)
        {
            throw new GgufException(path, GgufProblem.WrongVersion, $"version {version}; only version {SupportedVersion} is supported");
        }

        var tensorCount = reader.ReadUInt64();
        var kvCount = reader.ReadUInt64();
        if (tensorCount > 1_000_000 || kvCount > 1_000_000)
        {
            throw new GgufException(path, GgufProblem.Malformed, $"{tensorCount} tensors and {kvCount} metadata entries is not plausible");
        }

        var metadata = new Dictionary<string, object>(StringComparer.Ordinal);
        for (var i = 0UL; i < kvCount; i++)
        {
            var key = ReadString(path, reader, length);
            var type = (GgufValueType)reader.ReadUInt32();
            metadata[key] = ReadValue(path, reader, type, length);
        }

        var tensors = new List<GgufTensorInfo>((int)tensorCount);
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0UL; i < tensorCount; i++)
        {
            var name = ReadString(path, reader, length);
            if (!names.Add(name))
            {
                throw new GgufException(path, GgufProblem.Malformed, $"two tensors are named '{name}'");
            }

            var dimensionCount = reader.ReadUInt32();
            if (dimensionCount is 0 or > 4)
            {
                throw new GgufException(path, GgufProblem.Malformed, $"tensor '{name}' has {dimensionCount} dimensions");
            }

            var dimensions = new ulong[dimensionCount];
            for (var d = 0; d < dimensionCount; d++)
            {
                dimensions[d] = reader.ReadUInt64();
            }

            tensors.Add(new GgufTensorInfo(name, dimensions, reader.ReadUInt32(), reader.ReadUInt64()));
        }

        // As llama.cpp reads it: a u32 power of two, 32 when absent.
        var alignment = metadata.GetValueOrDefault("general.alignment", 32u) is uint align && BitOperations.IsPow2(align)
            ? align
            : throw new GgufException(path, GgufProblem.Malformed, "general.alignment must be a power of two, stored as u32");
        var dataOffset = (reader.BaseStream.Position + alignment - 1) / alignment * alignment;
        foreach (var tensor in tensors)
        {
            // In 128 bits: an offset or size near 2^64 must not wrap around and pass.
            var end = (UInt128)(ulong)dataOffset + tensor.Offset + ByteSize(path, tensor);
            if (end > (ulong)length)
            {
                throw new GgufException(path, GgufProblem.Truncated, $"tensor '{tensor.Name}' needs bytes up to {end} but the file has {length}");
            }
        }

        return new GgufFile(path, SupportedVersion, metadata, tensors, dataOffset, length);
    }

    /// <summary>Bytes of a tensor's data for the types the project reads and writes (F32, F16), else an error.</summary>
    internal static ulong ByteSize(string path, GgufTensorInfo tensor)
    {
        try
        {
            return tensor.Type switch
            {
                0 => checked(tensor.ElementCount * 4),
                1 => checked(tensor.ElementCount * 2),
                _ => QuantizedByteSize(path, tensor),
            };
        }
        catch (OverflowException)
        {
            throw new GgufException(path, GgufProblem.Malformed, $"tensor '{tensor.Name}' {tensor.Shape} is larger than any file");
        }
    }

    // Block-quantised types: (block size in elements, bytes per block), from ggml's type traits.
    private static ulong QuantizedByteSize(string path, GgufTensorInfo tensor)
    {
        (ulong Elements, ulong Bytes)? block = tensor.Type switch
        {
            2 => (32, 18), // Q4_0
            3 => (32, 20), // Q4_1
            6 => (32, 22), // Q5_0
            7 => (32, 24), // Q5_1
            8 => (32, 34), // Q8_0
            10 => (256, 84), // Q2_K
            11 => (256, 110), // Q3_K
            12 => (256, 144), // Q4_K
            13 => (256, 176), // Q5_K
            14 => (256, 210), // Q6_K
            30 => (1, 2), // BF16
            _ => null,
        };
        if (block is not { } b || tensor.Dimensions[0] % b.Elements != 0)
        {
            throw new GgufException(path, GgufProblem.Malformed, $"tensor '{tensor.Name}' has ggml type {tensor.Type}, which this reader does not know");
        }

        return checked(tensor.ElementCount / b.Elements * b.Bytes);
    }

    private static string ReadString(string path, BinaryReader reader, long length)
    {
        var size = reader.ReadUInt64();
        if (size > MaxStringBytes)
        {
            throw new GgufException(path, GgufProblem.Malformed, $"a string of {size} bytes at byte {reader.BaseStream.Position} is not plausible");
        }

        if (size > (ulong)(length - reader.BaseStream.Position))
        {
            throw new GgufException(path, GgufProblem.Truncated, $"a string of {size} bytes at byte {reader.BaseStream.Position} runs past the end of the file ({length} bytes)");
        }

        var bytes = reader.ReadBytes((int)size);
        return bytes.Length == (int)size ? Encoding.UTF8.GetString(bytes) : throw new EndOfStreamException();
    }

    private static object ReadValue(string path, BinaryReader reader, GgufValueType type, long length) => type switch
    {
        GgufValueType.UInt8 => reader.ReadByte(),
        GgufValueType.Int8 => reader.ReadSByte(),
        GgufValueType.UInt16 => reader.ReadUInt16(),
        GgufValueType.Int16 => reader.ReadInt16(),
        GgufValueType.UInt32 => reader.ReadUInt32(),
        GgufValueType.Int32 => reader.ReadInt32(),
        GgufValueType.Float32 => reader.ReadSingle(),
        GgufValueType.Bool => reader.ReadByte() != 0,
        GgufValueType.String => ReadString(path, reader, length),
        GgufValueType.UInt64 => reader.ReadUInt64(),
        GgufValueType.Int64 => reader.ReadInt64(),
        GgufValueType.Float64 => reader.ReadDouble(),
        GgufValueType.Array => ReadArray(path, reader, length),
        _ => throw new GgufException(path, GgufProblem.Malformed, $"unknown metadata value type {(uint)type}"),
    };

    private static object[] ReadArray(string path, BinaryReader reader, long length)
    {
        var type = (GgufValueType)reader.ReadUInt32();
        if (type == GgufValueType.Array)
        {
            throw new GgufException(path, GgufProblem.Malformed, $"an array of arrays at byte {reader.BaseStream.Position}, which llama.cpp does not read");
        }

        var count = reader.ReadUInt64();
        if (count > MaxArrayItems)
        {
            throw new GgufException(path, GgufProblem.Malformed, $"an array of {count} items at byte {reader.BaseStream.Position} is not plausible");
        }

        if (count > (ulong)(length - reader.BaseStream.Position))
        {
            throw new GgufException(path, GgufProblem.Truncated, $"an array of {count} items at byte {reader.BaseStream.Position} runs past the end of the file ({length} bytes)");
        }

        var items = new object[count];
        for (var i = 0UL; i < count; i++)
        {
            items[i] = ReadValue(path, reader, type, length);
        }

        return items;
    }
}
