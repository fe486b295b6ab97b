using System.Text.Json;
using System.Text.Json.Nodes;

namespace EvalMesh.Evaluation.Formats;

/// <summary>Reads JSON text that must be an array of objects.</summary>
public static class JsonRecords
{
    private static readonly JsonDocumentOptions NoDuplicateKeys = new() { AllowDuplicateProperties = false };

    /// <summary>
    /// Parses JSON completely. JsonNode parses lazily: a duplicate key or an unpaired surrogate escape (<c>"\ud800"</c>)
    /// passes <see cref="JsonNode.Parse(string, JsonNodeOptions?, JsonDocumentOptions)"/> and throws wherever the record is
    /// first read, so duplicates are rejected while parsing and every string is read once here.
    /// </summary>
    /// <exception cref="JsonException">The text is not valid JSON.</exception>
    public static JsonNode? Parse(string text)
    {
        try
        {
            var node = JsonNode.Parse(text, documentOptions: NoDuplicateKeys);
            _ = node?.ToJsonString();
            return node;
        }
        catch (InvalidOperationException ex)
        {
            throw new JsonException(ex.Message, ex);
        }
    }

    /// <summary>What is wrong, without the position System.Text.Json appends (the caller names the line and column).</summary>
    public static string Problem(JsonException ex)
    {
        var end = ex.Message.IndexOf(" Path:", StringComparison.Ordinal) is > 0 and var path ? path : ex.Message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return end > 0 ? ex.Message[..end] : ex.Message;
    }

    public static IReadOnlyList<JsonObject> ParseArray(string text, string source)
    {
        JsonNode? root;
        try
        {
            root = Parse(text);
        }
        catch (JsonException ex)
        {
            throw new EvalMeshInputException($"invalid JSON: {Problem(ex)}", source, (int?)ex.LineNumber + 1, (int?)ex.BytePositionInLine + 1, innerException: ex);
        }

        if (root is not JsonArray array)
        {
            throw new EvalMeshInputException("expected a JSON array of objects", source);
        }

        var records = new List<JsonObject>(array.Count);
        for (var i = 0; i < array.Count; i++)
        {
            records.Add(array[i] as JsonObject ?? throw new EvalMeshInputException($"element {i + 1} of the array is not an object", source));
        }

        return records;
    }
}
