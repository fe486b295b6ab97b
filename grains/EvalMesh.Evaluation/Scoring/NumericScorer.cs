using System.Globalization;
using System.Text.RegularExpressions;

namespace EvalMesh.Evaluation.Scoring;

/// <summary><c>numeric</c>: the first number in the answer is within <c>tolerance</c> of an expected number.</summary>
public sealed partial class NumericScorer(double tolerance) : IScorer
{
    /// <inheritdoc />
    public string Name => "numeric";

    /// <inheritdoc />
    public ValueTask<ScoreResult> ScoreAsync(ScoreRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var match = Number().Match(request.Output.Normalize(System.Text.NormalizationForm.FormKC));
        if (!match.Success || !TryParse(match.Value, out var actual))
        {
            return ValueTask.FromResult(ScoreResult.Fail("the answer holds no number"));
        }

        foreach (var text in request.Expected)
        {
            if (TryParse(text, out var expected) && Math.Abs(actual - expected) <= tolerance)
            {
                return ValueTask.FromResult(ScoreResult.Pass($"{actual.ToString(CultureInfo.InvariantCulture)} is within {tolerance.ToString(CultureInfo.InvariantCulture)} of {text}"));
            }
        }

        return ValueTask.FromResult(ScoreResult.Fail($"{actual.ToString(CultureInfo.InvariantCulture)} is not within {tolerance.ToString(CultureInfo.InvariantCulture)} of any expected number"));
    }

    private static bool TryParse(string text, out double value) =>
        double.TryParse(text.Replace(",", string.Empty, StringComparison.Ordinal), NumberStyles.Float, CultureInfo.InvariantCulture, out value);

    // Digits with optional thousands separators, a fraction and an exponent.
    [GeneratedRegex(@"[-+]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?([eE][-+]?\d+)?")]
    private static partial Regex Number();
}
