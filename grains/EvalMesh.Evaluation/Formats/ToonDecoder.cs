using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace EvalMesh.Evaluation.Formats;

/// <summary>Reads TOON in strict mode: declared lengths, row widths and indentation are checked.</summary>
internal sealed partial class ToonDecoder
{
    private readonly List<Line> _lines;
    private readonly string _source;
    private int _pos;

    private ToonDecoder(List<Line> lines, string source)
    {
        _lines = lines;
        _source = source;
    }

    private readonly record struct Line(int Depth, string Content, int Number);

    private sealed record Header(string? Key, int Length, char Delimiter, IReadOnlyList<string>? Fields, string Inline);

    public static JsonNode? Decode(string text, string source)
    {
        var decoder = new ToonDecoder(Split(text, source), source);
        if (decoder._lines.Count == 0)
        {
            return new JsonObject();
        }

        var first = decoder._lines[0];
        JsonNode? root;
        if (decoder.TryHeader(first.Content, out var header) && header.Key is null)
        {
            decoder._pos++;
            root = decoder.ReadArray(header, first);
        }
        else if (decoder._lines.Count == 1 && decoder.FindUnquoted(first.Content, ':') < 0)
        {
            decoder._pos++;
            root = decoder.ParsePrimitive(first.Content.Trim(), first);
        }
        else
        {
            root = decoder.ReadObject(0);
        }

        if (decoder._pos < decoder._lines.Count)
        {
            throw decoder.Error("unexpected content after the document", decoder._lines[decoder._pos]);
        }

        return root;
    }

    private static List<Line> Split(string text, string source)
    {
        var lines = new List<Line>();
        var number = 0;
        foreach (var raw in text.Split('\n'))
        {
            number++;
            var line = raw.TrimEnd('\r');
            if (line.Trim().Length == 0)
            {
                continue;
            }

            var spaces = 0;
            while (spaces < line.Length && line[spaces] == ' ')
            {
                spaces++;
            }

            if (spaces < line.Length && line[spaces] == '\t')
            {
                throw new EvalMeshInputException("tabs must not be used for indentation", source, number, spaces + 1);
            }

            if (spaces % 2 != 0)
            {
                throw new EvalMeshInputException($"indentation of {spaces} spaces is not a multiple of 2", source, number, 1);
            }

            lines.Add(new Line(spaces / 2, line[spaces..], number));
        }

        return lines;
    }

    private JsonObject ReadObject(int depth)
    {
        var obj = new JsonObject();
        while (_pos < _lines.Count && _lines[_pos].Depth >= depth)
        {
            var line = _lines[_pos];
            if (line.Depth > depth)
            {
                throw Error("unexpected indentation", line);
            }

            _pos++;
            if (TryHeader(line.Content, out var header) && header.Key is not null)
            {
                Add(obj, header.Key, ReadArray(header, line), line);
                continue;
            }

            var colon = FindUnquoted(line.Content, ':');
            if (colon < 0)
            {
                throw Error("missing ':' after a key", line);
            }

            var key = ParseKey(line.Content[..colon].Trim(), line);
            var rest = line.Content[(colon + 1)..].Trim();
            if (rest.Length > 0)
            {
                Add(obj, key, ParsePrimitive(rest, line), line);
            }
            else
            {
                Add(obj, key, ReadObject(depth + 1), line);
            }
        }

        return obj;
    }

    private void Add(JsonObject obj, string key, JsonNode? value, Line line)
    {
        if (!obj.TryAdd(key, value))
        {
            throw Error($"duplicate key '{key}'", line);
        }
    }

    private JsonArray ReadArray(Header header, Line headerLine)
    {
        var depth = headerLine.Depth;
        var array = new JsonArray();
        if (header.Inline.Length > 0)
        {
            if (header.Fields is not null)
            {
                throw Error("a tabular header cannot carry inline values", headerLine);
            }

            foreach (var token in SplitTokens(header.Inline, header.Delimiter, headerLine))
            {
                array.Add(ParsePrimitive(token, headerLine));
            }
        }
        else if (header.Fields is not null)
        {
            for (var i = 0; i < header.Length; i++)
            {
                var row = NextChild(depth, headerLine, header.Length, "row");
                var cells = SplitTokens(row.Content, header.Delimiter, row);
                if (cells.Count != header.Fields.Count)
                {
                    throw Error($"row has {cells.Count} values but the header declares {header.Fields.Count} fields", row);
                }

                var obj = new JsonObject();
                for (var c = 0; c < cells.Count; c++)
                {
                    Add(obj, header.Fields[c], ParsePrimitive(cells[c], row), row);
                }

                array.Add(obj);
            }
        }
        else
        {
            for (var i = 0; i < header.Length; i++)
            {
                array.Add(ReadListItem(NextChild(depth, headerLine, header.Length, "item")));
            }
        }

        if (array.Count != header.Length)
        {
            throw Error($"the header declares {header.Length} values but {array.Count} follow", headerLine);
        }

        if (_pos < _lines.Count && _lines[_pos].Depth > depth)
        {
            throw Error($"more entries than the {header.Length} the header declares", _lines[_pos]);
        }

        return array;
    }

    private Line NextChild(int depth, Line headerLine, int declared, string what)
    {
        if (_pos >= _lines.Count || _lines[_pos].Depth != depth + 1)
        {
            throw Error($"the header declares {declared} {what}s but fewer follow", headerLine);
        }

        return _lines[_pos++];
    }

    private JsonNode? ReadListItem(Line line)
    {
        if (line.Content == "-")
        {
            return new JsonObject();
        }

        if (!line.Content.StartsWith("- ", StringComparison.Ordinal))
        {
            throw Error("expected a list item starting with '- '", line);
        }

        var rest = line.Content[2..].TrimStart();

        // An item's content is read as if it were a line one level deeper: that is where its own children sit.
        var inner = line with { Depth = line.Depth + 1, Content = rest };
        if (TryHeader(rest, out var header) && header.Key is null)
        {
            return ReadArray(header, inner);
        }

        if (FindUnquoted(rest, ':') < 0)
        {
            return ParsePrimitive(rest, line);
        }

        _lines[--_pos] = inner;
        return ReadObject(inner.Depth);
    }

    private bool TryHeader(string content, out Header header)
    {
        header = null!;
        var match = HeaderPattern().Match(content);
        if (!match.Success || FindUnquoted(content, ':') < match.Index + match.Length - 1)
        {
            return false;
        }

        var keyText = match.Groups["key"].Value;
        var key = keyText.Length == 0 ? null : ParseKey(keyText, new Line(0, content, 0));
        var delimiter = match.Groups["delim"].Value switch { "|" => '|', "\t" => '\t', _ => ',' };
        var length = int.Parse(match.Groups["length"].Value, CultureInfo.InvariantCulture);
        IReadOnlyList<string>? fields = null;
        if (match.Groups["fields"].Success)
        {
            fields = [.. SplitTokens(match.Groups["fields"].Value, delimiter, new Line(0, content, 0)).Select(f => ParseKey(f, new Line(0, content, 0)))];
        }

        header = new Header(key, length, delimiter, fields, content[(match.Index + match.Length)..].Trim());
        return true;
    }

    private string ParseKey(string text, Line line)
    {
        if (text.StartsWith('"'))
        {
            var (value, end) = ReadQuoted(text, 0, line);
            if (end != text.Length)
            {
                throw Error("unexpected text after a quoted key", line);
            }

            return value;
        }

        return text.Length > 0 ? text : throw Error("empty key", line);
    }

    private JsonValue? ParsePrimitive(string token, Line line)
    {
        if (token.StartsWith('"'))
        {
            var (value, end) = ReadQuoted(token, 0, line);
            return end == token.Length ? JsonValue.Create(value) : throw Error("unexpected text after a quoted string", line);
        }

        return token switch
        {
            "null" => null,
            "true" => JsonValue.Create(true),
            "false" => JsonValue.Create(false),
            _ when NumberPattern().IsMatch(token) => JsonValue.Create(JsonDocument.Parse(token).RootElement.Clone()),
            _ => JsonValue.Create(token),
        };
    }

    private (string Value, int End) ReadQuoted(string text, int start, Line line)
    {
        var value = new StringBuilder();
        for (var i = start + 1; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '"')
            {
                return (value.ToString(), i + 1);
            }

            if (c != '\\')
            {
                value.Append(c);
                continue;
            }

            if (++i >= text.Length)
            {
                break;
            }

            value.Append(text[i] switch
            {
                '\\' => '\\',
                '"' => '"',
                'n' => '\n',
                'r' => '\r',
                't' => '\t',
                var other => throw Error($"invalid escape '\\{other}'", line),
            });
        }

        throw Error("unterminated string", line);
    }

    private List<string> SplitTokens(string text, char delimiter, Line line)
    {
        var tokens = new List<string>();
        var start = 0;
        for (var i = 0; i <= text.Length; i++)
        {
            if (i < text.Length && text[i] == '"')
            {
                i = ReadQuoted(text, i, line).End - 1;
                continue;
            }

            if (i == text.Length || text[i] == delimiter)
            {
                tokens.Add(text[start..i].Trim());
                start = i + 1;
            }
        }

        return tokens;
    }

    private int FindUnquoted(string text, char target)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '"')
            {
                i = ReadQuoted(text, i, new Line(0, text, 0)).End - 1;
            }
            else if (text[i] == target)
            {
                return i;
            }
        }

        return -1;
    }

    private EvalMeshInputException Error(string problem, Line line) =>
        new(problem, _source, line.Number == 0 ? null : line.Number);

    // key? [N delim?] {fields}? :
    [GeneratedRegex("""^(?<key>"(?:[^"\\]|\\.)*"|[^\[:"]*?)\[(?<length>\d+)(?<delim>[|\t]?)\](?:\{(?<fields>(?:"(?:[^"\\]|\\.)*"|[^}"])*)\})?:""")]
    private static partial Regex HeaderPattern();

    [GeneratedRegex(@"^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$")]
    private static partial Regex NumberPattern();
}
