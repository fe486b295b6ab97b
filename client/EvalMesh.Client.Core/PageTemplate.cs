using System.Text;
using System.Text.RegularExpressions;

namespace EvalMesh.Client;

/// <summary>
/// An HTML page template split once at its <c>{{name}}</c> holes. Filling it is one pass over the pieces, so a value
/// (a run id, a prompt) that happens to contain <c>{{name}}</c> is written as it is and never opens another hole.
/// </summary>
internal sealed partial class PageTemplate
{
    // Literal text at even indexes, hole names at odd ones.
    private readonly string[] _pieces;

    /// <summary>Splits <paramref name="text"/> at its holes, filling at once those named in <paramref name="fixedParts"/>.</summary>
    public PageTemplate(string text, IReadOnlyDictionary<string, string> fixedParts)
    {
        var pieces = new List<string> { string.Empty };
        var at = 0;
        foreach (Match hole in Hole().Matches(text))
        {
            pieces[^1] += text[at..hole.Index];
            var name = hole.Groups[1].Value;
            if (fixedParts.TryGetValue(name, out var value))
            {
                pieces[^1] += value;
            }
            else
            {
                pieces.Add(name);
                pieces.Add(string.Empty);
            }

            at = hole.Index + hole.Length;
        }

        pieces[^1] += text[at..];
        _pieces = [.. pieces];
    }

    /// <summary>The page with each remaining hole filled from <paramref name="values"/>, which must name them all.</summary>
    public string Fill(IReadOnlyDictionary<string, string> values)
    {
        var page = new StringBuilder(_pieces.Sum(p => p.Length) + values.Values.Sum(v => v.Length));
        for (var i = 0; i < _pieces.Length; i++)
        {
            page.Append(i % 2 == 0 ? _pieces[i] : ValueOf(values, _pieces[i]));
        }

        return page.ToString();
    }

    /// <summary>
    /// Writes the page to <paramref name="output"/> as UTF-8, each remaining hole filled from <paramref name="values"/>
    /// except <paramref name="streamed"/>, which <paramref name="writeStreamed"/> writes straight to the output (a value
    /// too big to hold as text as well).
    /// </summary>
    public async Task WriteAsync(Stream output, IReadOnlyDictionary<string, string> values, string streamed, Func<Stream, Task> writeStreamed, CancellationToken cancellationToken)
    {
        var utf8 = new UTF8Encoding(false);
        for (var i = 0; i < _pieces.Length; i++)
        {
            if (i % 2 == 1 && _pieces[i] == streamed)
            {
                await writeStreamed(output).ConfigureAwait(false);
            }
            else
            {
                await output.WriteAsync(utf8.GetBytes(i % 2 == 0 ? _pieces[i] : ValueOf(values, _pieces[i])), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static string ValueOf(IReadOnlyDictionary<string, string> values, string hole) =>
        values.TryGetValue(hole, out var value) ? value : throw new InvalidOperationException($"the page template's hole {{{{{hole}}}}} has no value");

    [GeneratedRegex(@"\{\{([a-z]+)\}\}", RegexOptions.CultureInvariant)]
    private static partial Regex Hole();
}
