using System.Text;
using System.Text.Json.Nodes;
using EvalMesh.Evaluation.Formats;

namespace EvalMesh.Evaluation.Datasets;

/// <summary>Records as JSON Lines text, as datasets are written, uploaded and stored (<see cref="DatasetReader"/> reads it back).</summary>
public static class JsonLines
{
    /// <summary>One record per line, each as the <c>oneline-json</c> format writes it, every line ended by <c>\n</c>.</summary>
    public static string Write(IEnumerable<JsonObject> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var oneLine = RecordFormats.Get("oneline-json");
        var text = new StringBuilder();
        foreach (var record in records)
        {
            // A one-record array rendered on one line, without its brackets, is exactly one JSON Lines line.
            text.Append(oneLine.Render([record])[1..^1]).Append('\n');
        }

        return text.ToString();
    }
}
