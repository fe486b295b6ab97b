using System.Text.Json.Nodes;

namespace EvalMesh.Evaluation.Formats;

/// <summary>
/// Flattens nested records for tabular formats: nested objects become dotted column names (<c>user.name</c>),
/// arrays become JSON text in one cell, and the columns are the union of all records' columns in first-seen order.
/// </summary>
public sealed class FlatRecords
{
    private FlatRecords(IReadOnlyList<string> columns, IReadOnlyList<IReadOnlyDictionary<string, string>> rows)
    {
        Columns = columns;
        Rows = rows;
    }

    /// <summary>The dotted column names in first-seen order.</summary>
    public IReadOnlyList<string> Columns { get; }

    /// <summary>One map per record from column to text; a record without a column has no entry for it.</summary>
    public IReadOnlyList<IReadOnlyDictionary<string, string>> Rows { get; }

    /// <summary>Flattens the records.</summary>
    public static FlatRecords From(IReadOnlyList<JsonObject> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var columns = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var rows = new List<IReadOnlyDictionary<string, string>>(records.Count);
        foreach (var record in records)
        {
            var row = Flatten(record);
            foreach (var column in row.Keys)
            {
                if (seen.Add(column))
                {
                    columns.Add(column);
                }
            }

            rows.Add(row);
        }

        return new FlatRecords(columns, rows);
    }

    /// <summary>One record's dotted keys and their text, in the record's own key order.</summary>
    public static Dictionary<string, string> Flatten(JsonObject record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var row = new Dictionary<string, string>(StringComparer.Ordinal);
        Add(row, string.Empty, record);
        return row;
    }

    private static void Add(Dictionary<string, string> row, string prefix, JsonObject node)
    {
        foreach (var (key, value) in node)
        {
            var column = prefix.Length == 0 ? key : prefix + "." + key;
            if (value is JsonObject child && child.Count > 0)
            {
                Add(row, column, child);
            }
            else
            {
                row[column] = JsonText.Scalar(value);
            }
        }
    }
}
