using System.Text.Json.Nodes;

namespace EvalMesh.Evaluation.Formats;

/// <summary><c>pretty-json</c>: the records as a JSON array indented by two spaces.</summary>
public sealed class PrettyJsonFormat : IRecordFormat, IRecordParser
{
    /// <inheritdoc />
    public string Name => "pretty-json";

    /// <inheritdoc />
    public string Render(IReadOnlyList<JsonObject> records) => JsonText.WriteArray(records, JsonText.IndentedWriter);

    /// <inheritdoc />
    public IReadOnlyList<JsonObject> Parse(string text) => JsonRecords.ParseArray(text, Name);
}
