using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace EvalMesh.Evaluation.Formats;

/// <summary>Writes the JSON data model as TOON (see <see cref="ToonFormat"/> for the profile).</summary>
internal sealed partial class ToonEncoder
{
    private const char Delimiter = ',';
    private static readonly System.Buffers.SearchValues<char> Structural = System.Buffers.SearchValues.Create(":\"\\[]{}\n\r\t,");
    private readonly StringBuilder _text = new();

    // When set, the next line is written on a list item's hyphen line at this depth instead of at its own depth.
    private int _hyphenDepth = -1;

    public static string EncodeRecords(IReadOnlyList<JsonObject> records)
    {
        var encoder = new ToonEncoder();
        encoder.WriteArray(string.Empty, records, records.Count, 0);
        return encoder._text.ToString();
    }

    private void Line(int depth, string content)
    {
        if (_text.Length > 0)
        {
            _text.Append('\n');
        }

        if (_hyphenDepth >= 0)
        {
            _text.Append(' ', _hyphenDepth * 2).Append("- ").Append(content);
            _hyphenDepth = -1;
        }
        else
        {
            _text.Append(' ', depth * 2).Append(content);
        }
    }

    private void WriteField(string key, JsonNode? value, int depth)
    {
        var name = Key(key);
        switch (value)
        {
            case JsonObject obj:
                Line(depth, name + ":");
                WriteFields(obj, depth + 1);
                break;
            case JsonArray array:
                WriteArray(name, array, array.Count, depth);
                break;
            default:
                Line(depth, name + ": " + Primitive(value));
                break;
        }
    }

    private void WriteFields(JsonObject obj, int depth)
    {
        foreach (var (key, value) in obj)
        {
            WriteField(key, value, depth);
        }
    }

    private void WriteArray(string name, IEnumerable<JsonNode?> items, int count, int depth)
    {
        var list = items as IReadOnlyList<JsonNode?> ?? [.. items];
        var header = $"{name}[{count}]";
        if (list.All(IsPrimitive))
        {
            Line(depth, count == 0 ? header + ":" : header + ": " + string.Join(Delimiter, list.Select(Primitive)));
        }
        else if (TabularFields(list) is { } fields)
        {
            Line(depth, header + "{" + string.Join(Delimiter, fields.Select(Key)) + "}:");
            foreach (var row in list.Cast<JsonObject>())
            {
                Line(depth + 1, string.Join(Delimiter, fields.Select(f => Primitive(row[f]))));
            }
        }
        else
        {
            Line(depth, header + ":");
            foreach (var item in list)
            {
                WriteListItem(item, depth + 1);
            }
        }
    }

    private void WriteListItem(JsonNode? item, int depth)
    {
        switch (item)
        {
            case JsonObject { Count: 0 }:
                Line(depth, "-");
                break;
            case JsonObject obj:
                // The first field goes on the hyphen line as if it were a field at depth + 1; the rest follow it there.
                _hyphenDepth = depth;
                WriteFields(obj, depth + 1);
                break;
            case JsonArray array:
                _hyphenDepth = depth;
                WriteArray(string.Empty, array, array.Count, depth + 1);
                break;
            default:
                Line(depth, "- " + Primitive(item));
                break;
        }
    }

    private static bool IsPrimitive(JsonNode? node) => node is null or JsonValue;

    /// <summary>The shared field list when every item is an object with the same keys and only primitive values.</summary>
    private static List<string>? TabularFields(IReadOnlyList<JsonNode?> items)
    {
        if (items.Count == 0 || items[0] is not JsonObject { Count: > 0 } first)
        {
            return null;
        }

        var fields = first.Select(p => p.Key).ToList();
        foreach (var item in items)
        {
            if (item is not JsonObject obj || obj.Count != fields.Count || !fields.All(f => obj.TryGetPropertyValue(f, out var v) && IsPrimitive(v)))
            {
                return null;
            }
        }

        return fields;
    }

    internal static string Key(string key) => UnquotedKey().IsMatch(key) ? key : Quote(key);

    internal static string Primitive(JsonNode? node) => node switch
    {
        null => "null",
        JsonValue value when JsonText.IsString(value, out var text) => NeedsQuotes(text) ? Quote(text) : text,
        JsonValue value when value.GetValueKind() == JsonValueKind.Number => JsonText.CanonicalNumber(value),
        _ => node.ToJsonString(),
    };

    private static bool NeedsQuotes(string text) =>
        text.Length == 0
        || char.IsWhiteSpace(text[0]) || char.IsWhiteSpace(text[^1])
        || text is "true" or "false" or "null"
        || NumericLike().IsMatch(text)
        || text.AsSpan().IndexOfAny(Structural) >= 0
        || text[0] == '-';

    internal static string Quote(string text)
    {
        var quoted = new StringBuilder(text.Length + 2).Append('"');
        foreach (var c in text)
        {
            quoted.Append(c switch
            {
                '\\' => "\\\\",
                '"' => "\\\"",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ => c.ToString(),
            });
        }

        return quoted.Append('"').ToString();
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_.]*$")]
    private static partial Regex UnquotedKey();

    [GeneratedRegex(@"^(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?|0\d+)$", RegexOptions.IgnoreCase)]
    private static partial Regex NumericLike();
}
