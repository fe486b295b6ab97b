using System.Text;
using System.Text.Json.Nodes;

namespace EvalMesh.Evaluation.Formats;

/// <summary>
/// <c>csv</c>: RFC 4180 with a header row and CRLF line breaks. Nested objects are flattened into dotted columns and
/// arrays are JSON text in one cell. Parsing gives back flat records whose values are text.
/// </summary>
public sealed class CsvFormat : IRecordFormat, IRecordParser
{
    /// <inheritdoc />
    public string Name => "csv";

    /// <inheritdoc />
    public string Render(IReadOnlyList<JsonObject> records)
    {
        var flat = FlatRecords.From(records);
        var text = new StringBuilder();
        AppendRow(text, flat.Columns);
        foreach (var row in flat.Rows)
        {
            text.Append("\r\n");
            AppendRow(text, [.. flat.Columns.Select(c => row.GetValueOrDefault(c, string.Empty))]);
        }

        return text.ToString();
    }

    /// <inheritdoc />
    public IReadOnlyList<JsonObject> Parse(string text) => ParseRecords(text, Name);

    /// <summary>Parses CSV with a header row into flat records whose values are strings.</summary>
    public static IReadOnlyList<JsonObject> ParseRecords(string text, string source)
    {
        var rows = CsvReader.Read(text, source);
        if (rows.Count == 0)
        {
            return [];
        }

        var header = rows[0];
        var records = new List<JsonObject>(rows.Count - 1);
        for (var r = 1; r < rows.Count; r++)
        {
            var cells = rows[r].Cells;
            if (cells.Count != header.Cells.Count)
            {
                throw new EvalMeshInputException($"row has {cells.Count} fields but the header has {header.Cells.Count}", source, rows[r].Line);
            }

            var record = new JsonObject();
            for (var c = 0; c < cells.Count; c++)
            {
                record[header.Cells[c]] = cells[c];
            }

            records.Add(record);
        }

        return records;
    }

    private static void AppendRow(StringBuilder text, IReadOnlyCollection<string> cells)
    {
        if (cells.Count == 1 && cells.First().Length == 0)
        {
            // A lone empty field would be an empty line, which readers skip.
            text.Append("\"\"");
            return;
        }

        var first = true;
        foreach (var cell in cells)
        {
            if (!first)
            {
                text.Append(',');
            }

            first = false;
            if (cell.AsSpan().IndexOfAny(",\"\r\n") >= 0 || (cell.Length > 0 && (cell[0] == ' ' || cell[^1] == ' ')))
            {
                text.Append('"').Append(cell.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
            }
            else
            {
                text.Append(cell);
            }
        }
    }
}
