using System.Text.Json;
using System.Text.Json.Nodes;

namespace EvalMesh.Evaluation.Scoring;

/// <summary>
/// <c>json-equals</c>: the first JSON value in the answer (a Markdown code fence around it is fine) is structurally
/// equal to the expected JSON: same values, numbers compared by value, object key order ignored.
/// </summary>
public sealed class JsonEqualsScorer : IScorer
{
    /// <inheritdoc />
    public string Name => "json-equals";

    /// <inheritdoc />
    public ValueTask<ScoreResult> ScoreAsync(ScoreRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Expected.Count == 0 || !TryParse(request.Expected[0], out var expected))
        {
            return ValueTask.FromResult(ScoreResult.Fail("the expected value is not JSON"));
        }

        if (!TryFindJson(request.Output, out var actual))
        {
            return ValueTask.FromResult(ScoreResult.Fail("the answer holds no JSON value"));
        }

        return ValueTask.FromResult(JsonNode.DeepEquals(actual, expected)
            ? ScoreResult.Pass("the answer's JSON equals the expected JSON")
            : ScoreResult.Fail("the answer's JSON differs from the expected JSON"));
    }

    /// <summary>The first JSON value in an answer: all of it, or an object or array inside prose or a code fence.</summary>
    internal static bool TryFindJson(string output, out JsonNode? value)
    {
        if (TryParse(output, out value))
        {
            return true;
        }

        // Try from each place a JSON object or array could start, so that prose or a code fence around it is skipped.
        for (var start = output.AsSpan().IndexOfAny('{', '['); start >= 0; start = NextStart(output, start))
        {
            var reader = new Utf8JsonReader(System.Text.Encoding.UTF8.GetBytes(output[start..]), new JsonReaderOptions { AllowTrailingCommas = false });
            try
            {
                value = JsonNode.Parse(ref reader);
                return true;
            }
            catch (JsonException)
            {
            }
        }

        value = null;
        return false;
    }

    private static int NextStart(string output, int previous)
    {
        var next = output.AsSpan(previous + 1).IndexOfAny('{', '[');
        return next < 0 ? -1 : previous + 1 + next;
    }

    private static bool TryParse(string text, out JsonNode? value)
    {
        try
        {
            value = JsonNode.Parse(text);
            return true;
        }
        catch (JsonException)
        {
            value = null;
            return false;
        }
    }
}
