using System.Text.Json.Nodes;

namespace EvalMesh.Evaluation.Formats;

/// <summary>
/// <c>toon</c>: Token-Oriented Object Notation (https://github.com/toon-format/spec, v3 core profile: comma
/// delimiter, two-space indent, no key folding, nothing omitted). Uniform records with primitive values become one
/// tabular array; other records become an expanded list.
/// </summary>
public sealed class ToonFormat : IRecordFormat, IRecordParser
{
    /// <inheritdoc />
    public string Name => "toon";

    /// <inheritdoc />
    public string Render(IReadOnlyList<JsonObject> records) => ToonEncoder.EncodeRecords(records);

    /// <inheritdoc />
    public IReadOnlyList<JsonObject> Parse(string text)
    {
        var root = ToonDecoder.Decode(text, Name);
        if (root is not JsonArray array)
        {
            throw new EvalMeshInputException("expected a root array of records", Name);
        }

        return [.. array.Select((item, i) => item as JsonObject ?? throw new EvalMeshInputException($"item {i + 1} is not an object", Name))];
    }
}
