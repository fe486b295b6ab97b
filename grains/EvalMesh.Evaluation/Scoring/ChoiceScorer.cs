using System.Text.RegularExpressions;

namespace EvalMesh.Evaluation.Scoring;

/// <summary>
/// <c>choice</c>: a multiple-choice answer, as Inspect's <c>choice</c> and lm-evaluation-harness's answer filters read
/// it. The expected values are option letters (A–Z, either case); the answer's letter is the last one it states
/// ("ANSWER: B", "the answer is (C)"), else the one it is or starts with ("B", "(B)", "B. Grafana"). It passes when
/// that letter is one of the expected ones.
/// </summary>
public sealed partial class ChoiceScorer : IScorer
{
    /// <inheritdoc />
    public string Name => "choice";

    /// <summary>Checks that an expected value is one option letter, so that a bad one is reported when the suite loads.</summary>
    /// <returns>Null when it is, else what is wrong.</returns>
    public static string? Validate(string expected) =>
        OptionLetter().IsMatch(expected) ? null : $"'{expected}' is not an option letter (A to Z)";

    /// <summary>The option letter an answer chooses, upper case, or null when it names none.</summary>
    public static char? ChosenLetter(string output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var stated = Stated().Matches(output);
        var match = stated.Count > 0 ? stated[^1] : Alone().Match(output);
        return match.Success ? char.ToUpperInvariant(match.Groups["letter"].Value[0]) : null;
    }

    /// <inheritdoc />
    public ValueTask<ScoreResult> ScoreAsync(ScoreRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var expected = string.Join(" or ", request.Expected.Select(e => e.Trim().ToUpperInvariant()));
        return ValueTask.FromResult(ChosenLetter(request.Output) switch
        {
            null => ScoreResult.Fail($"the answer names no option letter (expected {expected})"),
            var letter when request.Expected.Any(e => string.Equals(e.Trim(), letter.ToString(), StringComparison.OrdinalIgnoreCase)) => ScoreResult.Pass($"the answer chose {letter}"),
            var letter => ScoreResult.Fail($"the answer chose {letter}, expected {expected}"),
        });
    }

    [GeneratedRegex(@"^\s*[A-Za-z]\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex OptionLetter();

    // "ANSWER: B", "Answer - (C)", "the answer is B", "correct answer: D": an upper-case letter, so that "the answer is
    // a guess" chooses nothing.
    [GeneratedRegex(@"(?i:\banswer)\s*(?:(?i:is)\s*)?[:\-=]?\s*\(?(?<letter>[A-Z])\)?(?![A-Za-z0-9])", RegexOptions.CultureInvariant)]
    private static partial Regex Stated();

    // An answer that is just a letter ("b", "(B)", "B."), or starts with an upper-case one set off ("B. Grafana",
    // "(B) Grafana", "B: Grafana"); not "I think", nor "A cat".
    [GeneratedRegex(@"^\s*\(?(?<letter>[A-Za-z])[).:]?\s*$|^\s*\(?(?<letter>[A-Z])[).:]\s", RegexOptions.CultureInvariant)]
    private static partial Regex Alone();
}
