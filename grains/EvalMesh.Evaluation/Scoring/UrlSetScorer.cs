using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace EvalMesh.Evaluation.Scoring;

/// <summary>
/// <c>url-set</c>: extracts every URL from the answer and compares the set with the expected set. The score is F1;
/// the answer passes on an exact set match, or when F1 reaches <c>min-f1</c> if that is configured.
/// </summary>
public sealed partial class UrlSetScorer(double? minF1) : IScorer
{
    /// <inheritdoc />
    public string Name => "url-set";

    /// <summary>The distinct URLs in a text, in order of first appearance.</summary>
    public static IReadOnlyList<string> ExtractUrls(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return [.. Url().Matches(WebUtility.HtmlDecode(text)).Select(m => m.Value.TrimEnd('.', ',', ';', ':', '!', '?', '\'', ')')).Distinct(StringComparer.Ordinal)];
    }

    /// <inheritdoc />
    public ValueTask<ScoreResult> ScoreAsync(ScoreRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var expected = request.Expected.Select(e => e.Trim()).ToHashSet(StringComparer.Ordinal);
        var actual = ExtractUrls(request.Output).ToHashSet(StringComparer.Ordinal);
        var hits = actual.Count(expected.Contains);
        var precision = actual.Count == 0 ? (expected.Count == 0 ? 1 : 0) : (double)hits / actual.Count;
        var recall = expected.Count == 0 ? (actual.Count == 0 ? 1 : 0) : (double)hits / expected.Count;
        var f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
        var exact = hits == expected.Count && hits == actual.Count;
        var passed = minF1 is { } threshold ? f1 >= threshold : exact;
        var reason = string.Create(CultureInfo.InvariantCulture, $"precision {precision:0.###}, recall {recall:0.###}, F1 {f1:0.###}: {hits} of {expected.Count} expected URLs found, {actual.Count - hits} unexpected");
        return ValueTask.FromResult(new ScoreResult(f1, passed, reason));
    }

    [GeneratedRegex(@"https?://[^\s<>""'`|\]\[(){}]+", RegexOptions.IgnoreCase)]
    private static partial Regex Url();
}
