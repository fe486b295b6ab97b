using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace EvalMesh.Evaluation.Formats;

/// <summary>
/// <c>markdown-kv</c>: one heading per record and a fenced block of <c>key: value</c> lines over the flattened keys,
/// the layout measured in improvingagents.com's format study. Values with line breaks are written as JSON strings.
/// </summary>
public sealed class MarkdownKvFormat : IRecordFormat
{
    /// <inheritdoc />
    public string Name => "markdown-kv";

    /// <inheritdoc />
    public string Render(IReadOnlyList<JsonObject> records)
    {
        var text = new StringBuilder();
        for (var i = 0; i < records.Count; i++)
        {
            if (i > 0)
            {
                text.Append("\n\n");
            }

            text.Append("## Record ").Append(i + 1).Append("\n\n```");
            foreach (var (key, value) in FlatRecords.Flatten(records[i]))
            {
                text.Append('\n').Append(key).Append(": ");
                text.Append(value.AsSpan().IndexOfAny("\r\n`") >= 0 ? JsonSerializer.Serialize(value, JsonText.Compact) : value);
            }

            text.Append("\n```");
        }

        return text.ToString();
    }
}
