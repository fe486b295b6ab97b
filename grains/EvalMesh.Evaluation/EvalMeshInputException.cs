using System.Globalization;
using System.Text;

namespace EvalMesh.Evaluation;

/// <summary>
/// A user mistake in an input file or setting: it names where the problem is (file, line, column, setting)
/// so that the CLI and REST API can print one clear line instead of a stack trace.
/// </summary>
public sealed class EvalMeshInputException : Exception
{
    public EvalMeshInputException(string problem, string? file = null, int? line = null, int? column = null, string? setting = null, Exception? innerException = null)
        : base(Describe(problem, file, line, column, setting), innerException)
    {
        Problem = problem;
        File = file;
        Line = line;
        Column = column;
        Setting = setting;
    }

    /// <summary>What is wrong, without the location.</summary>
    public string Problem { get; }

    /// <summary>The file (or other named input) the problem is in, when there is one.</summary>
    public string? File { get; }

    /// <summary>1-based line, when known.</summary>
    public int? Line { get; }

    /// <summary>1-based column, when known.</summary>
    public int? Column { get; }

    /// <summary>The setting or key involved, when there is one.</summary>
    public string? Setting { get; }

    private static string Describe(string problem, string? file, int? line, int? column, string? setting)
    {
        var where = file ?? string.Empty;
        if (line is not null)
        {
            where += $":{line}";
            if (column is not null)
            {
                where += $":{column}";
            }
        }

        var prefix = where.Length > 0 ? where + ": " : string.Empty;
        var key = setting is null ? string.Empty : $"'{setting}': ";
        return Printable(prefix + key + problem);
    }

    /// <summary>A name or key from the input as a message shows it: <see cref="Printable"/>, and cut short when it is long.</summary>
    public static string Shown(string name)
    {
        const int Shortest = 80, Kept = 60;
        if (name.Length <= Shortest)
        {
            return Printable(name);
        }

        var kept = char.IsHighSurrogate(name[Kept - 1]) ? Kept - 1 : Kept;
        return Printable(string.Create(CultureInfo.InvariantCulture, $"{name[..kept]}…({name.Length:N0} characters)"));
    }

    /// <summary>
    /// Text fit for a one-line message: control, format and separator characters (a line break, a terminal escape, a
    /// right-to-left override, a zero-width space) are written as <c>\n</c> or <c>\uXXXX</c>, so that they can neither
    /// break the line nor hide in it.
    /// </summary>
    private static string Printable(string text)
    {
        if (!text.Any(Hidden))
        {
            return text;
        }

        var printable = new StringBuilder(text.Length + 16);
        foreach (var c in text)
        {
            _ = c switch
            {
                '\n' => printable.Append("\\n"),
                '\r' => printable.Append("\\r"),
                '\t' => printable.Append("\\t"),
                _ when Hidden(c) => printable.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:X4}"),
                _ => printable.Append(c),
            };
        }

        return printable.ToString();

        static bool Hidden(char c) => char.GetUnicodeCategory(c) is UnicodeCategory.Control or UnicodeCategory.Format
            or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;
    }
}
