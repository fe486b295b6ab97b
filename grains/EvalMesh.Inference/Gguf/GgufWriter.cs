using System.Text;

namespace EvalMesh.Inference.Gguf;

/// <summary>Writes GGUF v3 files with F32 tensors: metadata in insertion order, tensors 32-byte aligned.</summary>
public sealed class GgufWriter
{
    private const int Alignment = 32;
    private readonly List<(string Key, GgufValueType Type, object Value)> _metadata = [];
    private readonly List<(string Name, ulong[] Dimensions, float[] Data)> _tensors = [];

    /// <summary>Adds a string value.</summary>
    public GgufWriter Add(string key, string value) => Add(key, GgufValueType.String, value);

    /// <summary>Adds a 32-bit unsigned value.</summary>
    public GgufWriter Add(string key, uint value) => Add(key, GgufValueType.UInt32, value);

    /// <summary>Adds a 32-bit float value.</summary>
    public GgufWriter Add(string key, float value) => Add(key, GgufValueType.Float32, value);

    /// <summary>Adds a boolean value.</summary>
    public GgufWriter Add(string key, bool value) => Add(key, GgufValueType.Bool, value);

    /// <summary>Adds an array of strings.</summary>
    public GgufWriter Add(string key, IReadOnlyList<string> values) => Add(key, GgufValueType.Array, (GgufValueType.String, (object)values));

    /// <summary>Adds an array of 32-bit floats.</summary>
    public GgufWriter Add(string key, IReadOnlyList<float> values) => Add(key, GgufValueType.Array, (GgufValueType.Float32, (object)values));

    /// <summary>Adds an array of 32-bit signed integers.</summary>
    public GgufWriter Add(string key, IReadOnlyList<int> values) => Add(key, GgufValueType.Array, (GgufValueType.Int32, (object)values));

    /// <summary>Adds an F32 tensor; <paramref name="dimensions"/> lists ne[0] (innermost) first.</summary>
    public GgufWriter AddTensor(string name, float[] data, params ulong[] dimensions)
    {
        ArgumentNullException.ThrowIfNull(data);
        if ((ulong)data.Length != dimensions.Aggregate(1UL, (a, b) => a * b))
        {
            throw new ArgumentException($"tensor '{name}' has {data.Length} values for shape [{string.Join(", ", dimensions)}]", nameof(data));
        }

        _tensors.Add((name, dimensions, data));
        return this;
    }

    /// <summary>Writes the file.</summary>
    public void Write(string path)
    {
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        using var writer = new BinaryWriter(stream, Encoding.UTF8);
        writer.Write("GGUF"u8);
        writer.Write(GgufFile.SupportedVersion);
        writer.Write((ulong)_tensors.Count);
        writer.Write((ulong)_metadata.Count);
        foreach (var (key, type, value) in _metadata)
        {
            WriteString(writer, key);
            writer.Write((uint)type);
            WriteValue(writer, type, value);
        }

        ulong offset = 0;
        foreach (var (name, dimensions, data) in _tensors)
        {
            WriteString(writer, name);
            writer.Write((uint)dimensions.Length);
            foreach (var d in dimensions)
            {
                writer.Write(d);
            }

            writer.Write(0u);
            writer.Write(offset);
            offset += Padded((ulong)data.Length * 4);
        }

        Pad(writer);
        foreach (var (_, _, data) in _tensors)
        {
            writer.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan()));
            Pad(writer);
        }
    }

    private GgufWriter Add(string key, GgufValueType type, object value)
    {
        _metadata.Add((key, type, value));
        return this;
    }

    private static ulong Padded(ulong size) => (size + Alignment - 1) / Alignment * Alignment;

    private static void Pad(BinaryWriter writer)
    {
        var position = (ulong)writer.BaseStream.Position;
        for (var i = position; i < Padded(position); i++)
        {
            writer.Write((byte)0);
        }
    }

    private static void WriteString(BinaryWriter writer, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        writer.Write((ulong)bytes.Length);
        writer.Write(bytes);
    }

    private static void WriteValue(BinaryWriter writer, GgufValueType type, object value)
    {
        switch (type)
        {
            case GgufValueType.String:
                WriteString(writer, (string)value);
                break;
            case GgufValueType.UInt32:
                writer.Write((uint)value);
                break;
            case GgufValueType.Float32:
                writer.Write((float)value);
                break;
            case GgufValueType.Bool:
                writer.Write((bool)value ? (byte)1 : (byte)0);
                break;
            case GgufValueType.Array:
                var (itemType, items) = ((GgufValueType, object))value;
                writer.Write((uint)itemType);
                switch (items)
                {
                    case IReadOnlyList<string> strings:
                        writer.Write((ulong)strings.Count);
                        strings.ToList().ForEach(s => WriteString(writer, s));
                        break;
                    case IReadOnlyList<float> floats:
                        writer.Write((ulong)floats.Count);
                        floats.ToList().ForEach(writer.Write);
                        break;
                    case IReadOnlyList<int> ints:
                        writer.Write((ulong)ints.Count);
                        ints.ToList().ForEach(writer.Write);
                        break;
                }

                break;
            default:
                throw new NotSupportedException($"writing GGUF value type {type}");
        }
    }
}
