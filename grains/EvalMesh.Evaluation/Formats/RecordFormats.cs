namespace EvalMesh.Evaluation.Formats;

/// <summary>The known record formats, by name.</summary>
public static class RecordFormats
{
    private static readonly IRecordFormat[] Formats =
    [
        new OneLineJsonFormat(),
        new PrettyJsonFormat(),
        new CsvFormat(),
        new YamlFormat(),
        new MarkdownTableFormat(),
        new MarkdownKvFormat(),
        new XmlFormat(),
        new ToonFormat(),
    ];

    private static readonly Dictionary<string, IRecordFormat> ByName =
        Formats.ToDictionary(f => f.Name, StringComparer.OrdinalIgnoreCase);

    /// <summary>Every format, in a stable order.</summary>
    public static IReadOnlyList<IRecordFormat> All => Formats;

    /// <summary>Every format name, in the same order as <see cref="All"/>.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. Formats.Select(f => f.Name)];

    /// <summary>The format with this name.</summary>
    /// <exception cref="UnknownNameException">No format has this name; the message lists the known ones.</exception>
    public static IRecordFormat Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return ByName.TryGetValue(name.Trim(), out var format) ? format : throw new UnknownNameException("format", name, Names);
    }
}
