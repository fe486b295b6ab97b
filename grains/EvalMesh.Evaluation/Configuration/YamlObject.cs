using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace EvalMesh.Evaluation.Configuration;

/// <summary>
/// A YAML mapping read with its positions, so that every error names the file, line, column and key path. Unknown keys
/// are errors that suggest the closest known key.
/// </summary>
public sealed class YamlObject
{
    /// <summary>How deeply mappings and lists may nest (as in System.Text.Json).</summary>
    internal const int MaxDepth = 64;

    private readonly YamlMappingNode _node;
    private readonly string _file;
    private readonly string _path;

    private YamlObject(YamlMappingNode node, string file, string path)
    {
        _node = node;
        _file = file;
        _path = path;
    }

    /// <summary>Parses YAML text whose root must be a mapping.</summary>
    /// <exception cref="EvalMeshInputException">The text is not YAML, or its root is not a mapping.</exception>
    public static YamlObject Parse(string text, string file)
    {
        ArgumentNullException.ThrowIfNull(text);
        var stream = new YamlStream();
        var parser = new LimitedParser(new Parser(new StringReader(text)));
        try
        {
            stream.Load(parser);
        }
        catch (YamlException ex)
        {
            throw new EvalMeshInputException($"invalid YAML: {InnermostMessage(ex)}", file, (int)ex.Start.Line, (int)ex.Start.Column, innerException: ex);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
        {
            // YamlDotNet throws these for some malformed input (a scalar, "- : x" in a list); the last event it read is where it got to.
            var at = parser.Current?.End ?? Mark.Empty;
            throw new EvalMeshInputException("invalid YAML: a value here could not be read (check brackets and quotes)", file, (int)at.Line, (int)at.Column, innerException: ex);
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new EvalMeshInputException("expected a mapping of settings at the top level", file, 1, 1);
        }

        return new YamlObject(root, file, string.Empty);
    }

    /// <summary>The file this mapping came from.</summary>
    public string File => _file;

    /// <summary>Rejects any key not in <paramref name="known"/>, suggesting the closest known one.</summary>
    public void AllowOnly(params string[] known)
    {
        foreach (var key in _node.Children.Keys)
        {
            if (key is not YamlScalarNode { Value: var value })
            {
                throw new EvalMeshInputException("expected a key name here, not a list or mapping", _file, (int)key.Start.Line, (int)key.Start.Column, _path.Length == 0 ? null : _path);
            }

            var name = value ?? string.Empty;
            if (!known.Contains(name, StringComparer.Ordinal))
            {
                var hint = Closest.Of(name, known) is { } closest ? $" (did you mean '{closest}'?)" : $"; known keys: {string.Join(", ", known)}";
                throw new EvalMeshInputException($"unknown key{hint}", _file, (int)key.Start.Line, (int)key.Start.Column, PathOf(EvalMeshInputException.Shown(name)));
            }
        }
    }

    /// <summary>Whether the key is present.</summary>
    public bool Has(string key) => Find(key) is not null;

    /// <summary>A string value, or null when absent.</summary>
    public string? Text(string key) => Find(key) switch
    {
        null => null,
        YamlScalarNode scalar => scalar.Value ?? string.Empty,
        var other => throw Error(other, key, "expected a text value"),
    };

    /// <summary>A string value that must be present and not empty.</summary>
    public string RequiredText(string key)
    {
        var value = Text(key) ?? throw MissingError(key);
        return value.Length > 0 ? value : throw Error(Find(key)!, key, "must not be empty");
    }

    /// <summary>An integer within [min, max], or null when absent.</summary>
    public int? WholeNumber(string key, int min = int.MinValue, int max = int.MaxValue)
    {
        var node = Find(key);
        if (node is null)
        {
            return null;
        }

        if (node is not YamlScalarNode { Value: { } text } || !int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
        {
            throw Error(node, key, "expected a whole number");
        }

        return value >= min && value <= max ? value : throw Error(node, key, $"must be between {min} and {max}");
    }

    /// <summary>A number within [min, max], or null when absent.</summary>
    public double? Number(string key, double min = double.MinValue, double max = double.MaxValue)
    {
        var node = Find(key);
        if (node is null)
        {
            return null;
        }

        if (node is not YamlScalarNode { Value: { } text } || !double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
        {
            throw Error(node, key, "expected a number");
        }

        return value >= min && value <= max
            ? value
            : throw Error(node, key, string.Create(CultureInfo.InvariantCulture, $"must be between {min} and {max}"));
    }

    /// <summary>A boolean, or null when absent.</summary>
    public bool? Flag(string key)
    {
        var node = Find(key);
        return node switch
        {
            null => null,
            YamlScalarNode { Value: "true" or "True" or "yes" } => true,
            YamlScalarNode { Value: "false" or "False" or "no" } => false,
            _ => throw Error(node, key, "expected true or false"),
        };
    }

    /// <summary>A list of strings; a single scalar counts as a list of one. Null when absent.</summary>
    public IReadOnlyList<string>? TextList(string key)
    {
        var node = Find(key);
        return node switch
        {
            null => null,
            YamlScalarNode scalar => [scalar.Value ?? string.Empty],
            YamlSequenceNode sequence => [.. sequence.Children.Select((item, i) => item is YamlScalarNode s
                ? s.Value ?? string.Empty
                : throw Error(item, $"{key}[{i}]", "expected a text value"))],
            _ => throw Error(node, key, "expected a value or a list of values"),
        };
    }

    /// <summary>A nested mapping, or null when absent.</summary>
    public YamlObject? Mapping(string key) => Find(key) switch
    {
        null => null,
        YamlMappingNode mapping => new YamlObject(mapping, _file, PathOf(key)),
        var other => throw Error(other, key, "expected a mapping of settings"),
    };

    /// <summary>A list of mappings; empty when absent.</summary>
    public IReadOnlyList<YamlObject> MappingList(string key) => Find(key) switch
    {
        null => [],
        YamlSequenceNode sequence => [.. sequence.Children.Select((item, i) => item is YamlMappingNode mapping
            ? new YamlObject(mapping, _file, $"{PathOf(key)}[{i}]")
            : throw Error(item, $"{key}[{i}]", "expected a mapping of settings"))],
        var other => throw Error(other, key, "expected a list"),
    };

    /// <summary>Whether the value at <paramref name="key"/> is a plain scalar rather than a mapping or list.</summary>
    public bool IsScalar(string key) => Find(key) is YamlScalarNode;

    /// <summary>The value at <paramref name="key"/> as compact JSON text (for JSON-valued settings), or null when absent.</summary>
    public string? JsonText(string key)
    {
        var node = Find(key);
        if (node is null)
        {
            return null;
        }

        try
        {
            return YamlJson.ToJson(node)?.ToJsonString() ?? "null";
        }
        catch (YamlException ex)
        {
            throw new EvalMeshInputException(ex.Message, _file, (int)ex.Start.Line, (int)ex.Start.Column, PathOf(key), ex);
        }
    }

    /// <summary>An error at item <paramref name="index"/> of the list at <paramref name="key"/> (a lone value counts as item 0).</summary>
    public EvalMeshInputException ItemError(string key, int index, string problem) => Find(key) switch
    {
        YamlSequenceNode sequence when index < sequence.Children.Count => Error(sequence.Children[index], $"{key}[{index}]", problem),
        YamlScalarNode scalar => Error(scalar, $"{key}[{index}]", problem),
        _ => Error(key, problem),
    };

    /// <summary>Where the value of <paramref name="key"/> starts (or this mapping, when the key is absent).</summary>
    public ConfigPlace PlaceOf(string key)
    {
        var node = Find(key) ?? _node;
        return new ConfigPlace((int)node.Start.Line, (int)node.Start.Column);
    }

    /// <summary>An error at the value of <paramref name="key"/> (or at this mapping when the key is absent).</summary>
    public EvalMeshInputException Error(string key, string problem) =>
        Find(key) is { } node ? Error(node, key, problem) : MissingError(key, problem);

    private EvalMeshInputException MissingError(string key, string problem = "is required") =>
        new(problem, _file, (int)_node.Start.Line, (int)_node.Start.Column, PathOf(key));

    private EvalMeshInputException Error(YamlNode node, string key, string problem) =>
        new(problem, _file, (int)node.Start.Line, (int)node.Start.Column, PathOf(key));

    private YamlNode? Find(string key) =>
        _node.Children.TryGetValue(new YamlScalarNode(key), out var value) && !IsNull(value) ? value : null;

    private static bool IsNull(YamlNode node) => node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any, Value: null or "" or "~" or "null" };

    private string PathOf(string key) => _path.Length == 0 ? key : $"{_path}.{key}";

    /// <summary>
    /// Stops at the first alias and at the first mapping or list nested deeper than <see cref="MaxDepth"/>, before the
    /// representation model loads them: it recurses once per level, and it resolves an alias to the node it names, so
    /// deep brackets, an alias inside its own anchor, or nested aliases that repeat a value a billion times would
    /// overflow the stack or never finish.
    /// </summary>
    private sealed class LimitedParser(IParser parser) : IParser
    {
        private int _depth;

        public ParsingEvent? Current => parser.Current;

        public bool MoveNext()
        {
            if (!parser.MoveNext())
            {
                return false;
            }

            var current = parser.Current!;
            _depth += current switch
            {
                MappingStart or SequenceStart => 1,
                MappingEnd or SequenceEnd => -1,
                _ => 0,
            };
            if (_depth > MaxDepth)
            {
                throw new YamlException(current.Start, current.End, $"nested deeper than {MaxDepth} levels");
            }

            if (current is AnchorAlias alias)
            {
                throw new YamlException(current.Start, current.End, $"aliases (*{alias.Value}) are not supported; write the value out");
            }

            return true;
        }
    }

    private static string InnermostMessage(Exception ex)
    {
        while (ex.InnerException is not null)
        {
            ex = ex.InnerException;
        }

        return ex.Message;
    }
}
