using System.Text.Json;
using System.Text.Json.Nodes;

namespace EvalMesh.Evaluation.Formats;

/// <summary>Reads JSON text that must be an array of objects.</summary>
internal static class JsonRecords
{
    public static IReadOnlyList<JsonObject> ParseArray(string text, string source)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(text);
        }
        catch (JsonException ex)
        {
            throw new EvalMeshInputException($"invalid JSON: {ex.Message}", source, (int?)ex.LineNumber + 1, (int?)ex.BytePositionInLine + 1, innerException: ex);
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
