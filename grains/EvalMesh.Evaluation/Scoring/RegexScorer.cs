using System.Text.RegularExpressions;

namespace EvalMesh.Evaluation.Scoring;

/// <summary><c>regex</c>: the answer matches one of the expected patterns (.NET syntax, one second per match at most).</summary>
public sealed class RegexScorer(bool ignoreCase) : IScorer
{
    private static readonly TimeSpan MatchTimeout = TimeSpan.FromSeconds(1);

    /// <inheritdoc />
    public string Name => "regex";

    /// <summary>Checks that a pattern compiles, so that a bad pattern is reported when the suite loads.</summary>
    /// <returns>Null when the pattern is valid, else the parser's message.</returns>
    public static string? Validate(string pattern)
    {
        try
        {
            _ = new Regex(pattern, RegexOptions.None, MatchTimeout);
            return null;
        }
        catch (ArgumentException ex)
        {
            return ex.Message;
        }
    }

    /// <inheritdoc />
    public ValueTask<ScoreResult> ScoreAsync(ScoreRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var options = RegexOptions.CultureInvariant | (ignoreCase ? RegexOptions.IgnoreCase : RegexOptions.None);
        foreach (var pattern in request.Expected)
        {
            try
            {
                if (Regex.IsMatch(request.Output, pattern, options, MatchTimeout))
                {
                    return ValueTask.FromResult(ScoreResult.Pass($"the answer matches /{pattern}/"));
                }
            }
            catch (RegexMatchTimeoutException)
            {
                return ValueTask.FromResult(ScoreResult.Fail($"matching /{pattern}/ took longer than {MatchTimeout.TotalSeconds:0} s"));
            }
        }

        return ValueTask.FromResult(ScoreResult.Fail("the answer matches none of the expected patterns"));
    }
}
