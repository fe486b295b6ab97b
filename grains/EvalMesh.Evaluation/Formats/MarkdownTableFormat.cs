using System.Text;
using System.Text.Json.Nodes;

namespace EvalMesh.Evaluation.Formats;

/// <summary>
/// <c>markdown-table</c>: a GitHub-flavoured pipe table over the flattened columns. Pipes are escaped and line
/// breaks become <c>&lt;br&gt;</c> so that each record stays on one row.
/// </summary>
public sealed class MarkdownTableFormat : IRecordFormat
{
    /// <inheritdoc />
    public string Name => "markdown-table";

    /// <inheritdoc />
    public string Render(IReadOnlyList<JsonObject> records)
    {
        var flat = FlatRecords.From(records);
        var text = new StringBuilder();
        AppendRow(text, flat.Columns);
        text.Append('\n');
        AppendRow(text, flat.Columns.Select(_ => "---"));
        foreach (var row in flat.Rows)
        {
            text.Append('\n');
            AppendRow(text, flat.Columns.Select(c => row.GetValueOrDefault(c, string.Empty)));
        }

        return text.ToString();
    }

    private static void AppendRow(StringBuilder text, IEnumerable<string> cells)
    {
        text.Append('|');
        foreach (var cell in cells)
        {
            text.Append(' ').Append(Escape(cell)).Append(" |");
        }
    }

    private static string Escape(string cell) => cell
        .Replace("\\", "\\\\", StringComparison.Ordinal)
        .Replace("|", "\\|", StringComparison.Ordinal)
        .Replace("\r\n", "<br>", StringComparison.Ordinal)
        .Replace("\n", "<br>", StringComparison.Ordinal)
        .Replace("\r", "<br>", StringComparison.Ordinal);
}
