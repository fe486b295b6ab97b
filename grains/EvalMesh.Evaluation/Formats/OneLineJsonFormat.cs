using System.Text.Json;
using System.Text.Json.Nodes;

namespace EvalMesh.Evaluation.Formats;

/// <summary><c>oneline-json</c>: the records as one JSON array on one line.</summary>
public sealed class OneLineJsonFormat : IRecordFormat, IRecordParser
{
    /// <inheritdoc />
    public string Name => "oneline-json";

    /// <inheritdoc />
    public string Render(IReadOnlyList<JsonObject> records) => JsonText.WriteArray(records, JsonText.CompactWriter);

    /// <inheritdoc />
    public IReadOnlyList<JsonObject> Parse(string text) => JsonRecords.ParseArray(text, Name);
}
