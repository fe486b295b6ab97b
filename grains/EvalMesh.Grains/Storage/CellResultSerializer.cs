using EvalMesh.Abstractions;
using MessagePack;
using MessagePack.Resolvers;

namespace EvalMesh.Grains.Storage;

/// <summary>MessagePack encoding of cell results, shared by the stores.</summary>
internal static class CellResultSerializer
{
    // Outputs are kept whole up to this size; an echo of a huge prompt is cut rather than bloating the store.
    public const int MaxOutputLength = 32_768;

    private static readonly MessagePackSerializerOptions Options = MessagePackSerializerOptions.Standard
        .WithResolver(StandardResolver.Instance)
        .WithCompression(MessagePackCompression.Lz4BlockArray);

    public static CellResult Trim(CellResult result) => result.Output.Length <= MaxOutputLength
        ? result
        : result with { Output = result.Output[..MaxOutputLength] + $"…[{result.Output.Length - MaxOutputLength} more characters not stored]" };

    public static byte[] Serialize(IReadOnlyList<CellResult> batch) => MessagePackSerializer.Serialize(batch, Options);

    public static IReadOnlyList<CellResult> DeserializeBatch(ReadOnlyMemory<byte> bytes) => MessagePackSerializer.Deserialize<List<CellResult>>(bytes, Options);

    public static byte[] Serialize(CellResult result) => MessagePackSerializer.Serialize(result, Options);

    public static CellResult Deserialize(ReadOnlyMemory<byte> bytes) => MessagePackSerializer.Deserialize<CellResult>(bytes, Options);
}
