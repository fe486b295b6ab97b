using System.Text.Json;
using System.Text.Json.Nodes;
using EvalMesh.Evaluation.Formats;

namespace EvalMesh.Evaluation.Datasets;

/// <summary>Reads records from <c>.jsonl</c>, <c>.json</c> or <c>.csv</c> files, naming the file and line of any problem.</summary>
public static class DatasetReader
{
    /// <summary>The file extensions that can be read.</summary>
    public static IReadOnlyList<string> Extensions { get; } = [".jsonl", ".json", ".csv"];

    /// <summary>Reads a dataset file; its name is the file name without extension.</summary>
    /// <exception cref="EvalMeshInputException">The file is missing, of an unknown kind, malformed or empty.</exception>
    public static Dataset Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new EvalMeshInputException("file not found", path);
        }

        var text = File.ReadAllText(path);
        var extension = Path.GetExtension(path).ToLowerInvariant();
        var records = extension switch
        {
            ".jsonl" or ".ndjson" => ParseJsonLines(text, path),
            ".json" => JsonRecords.ParseArray(text, path),
            ".csv" => [.. CsvFormat.ParseRecords(text, path).Select(Unflatten)],
            _ => throw new EvalMeshInputException($"unknown dataset file type '{extension}'; expected one of {string.Join(", ", Extensions)}", path),
        };
        return records.Count > 0
            ? Dataset.Create(Path.GetFileNameWithoutExtension(path), records)
            : throw new EvalMeshInputException("the file holds no records", path);
    }

    /// <summary>Parses JSON Lines: one object per line, blank lines skipped.</summary>
    public static IReadOnlyList<JsonObject> ParseJsonLines(string text, string source)
    {
        ArgumentNullException.ThrowIfNull(text);
        var records = new List<JsonObject>();
        var lineNumber = 0;
        foreach (var line in text.Split('\n'))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            JsonNode? node;
            try
            {
                node = JsonRecords.Parse(line);
            }
            catch (JsonException ex)
            {
                throw new EvalMeshInputException($"invalid JSON: {JsonRecords.Problem(ex)}", source, lineNumber, (int?)ex.BytePositionInLine + 1, innerException: ex);
            }

            records.Add(node as JsonObject ?? throw new EvalMeshInputException("expected a JSON object on this line", source, lineNumber));
        }

        return records;
    }

    /// <summary>Turns dotted CSV columns (<c>user.name</c>) back into nested objects; values stay text.</summary>
    public static JsonObject Unflatten(JsonObject flat)
    {
        ArgumentNullException.ThrowIfNull(flat);
        var record = new JsonObject();
        foreach (var (column, value) in flat)
        {
            var parts = column.Split('.');
            var target = record;
            foreach (var part in parts[..^1])
            {
                if (target[part] is not JsonObject child)
                {
                    child = new JsonObject();
                    target[part] = child;
                }

                target = child;
            }

            var text = value?.GetValue<string>() ?? string.Empty;
            if (text.Length > 0)
            {
                target[parts[^1]] = text;
            }
        }

        return record;
    }
}
