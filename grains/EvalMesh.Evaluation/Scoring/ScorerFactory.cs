using Microsoft.Extensions.AI;

namespace EvalMesh.Evaluation.Scoring;

/// <summary>Builds scorers from their specs.</summary>
public static class ScorerFactory
{
    /// <summary>The known scorer names.</summary>
    public static IReadOnlyList<string> Names { get; } = ["exact", "contains", "regex", "json-equals", "json-schema", "numeric", "url-set", "choice", "llm-judge"];

    /// <summary>Builds the scorer a spec describes.</summary>
    /// <param name="spec">The scorer and its options.</param>
    /// <param name="judge">The judge model, needed only by <c>llm-judge</c>.</param>
    /// <exception cref="UnknownNameException">The scorer name is not known.</exception>
    /// <exception cref="InvalidOperationException"><c>llm-judge</c> was asked for without a judge model.</exception>
    public static IScorer Create(ScorerSpec spec, IChatClient? judge = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var normalization = new TextNormalization(spec.Trim, spec.IgnoreCase, spec.Nfkc);
        return spec.Type.Trim().ToLowerInvariant() switch
        {
            "exact" => new ExactScorer(normalization),
            "contains" => new ContainsScorer(normalization),
            "regex" => new RegexScorer(spec.IgnoreCase),
            "json-equals" => new JsonEqualsScorer(),
            "json-schema" => new JsonSchemaScorer(),
            "numeric" => new NumericScorer(spec.Tolerance),
            "url-set" => new UrlSetScorer(spec.MinF1),
            "choice" => new ChoiceScorer(),
            "llm-judge" => new LlmJudgeScorer(
                judge ?? throw new InvalidOperationException("the llm-judge scorer needs a judge model endpoint"),
                spec.Rubric ?? "The answer is correct and complete given the expected answer."),
            _ => throw new UnknownNameException("scorer", spec.Type, Names),
        };
    }

    /// <summary>
    /// What is wrong with a case's expected values for its scorer, or null: an invalid regular expression, a choice
    /// that is not an option letter, a JSON Schema that is not one, JSON that does not parse.
    /// </summary>
    public static string? CheckExpected(string scorer, IReadOnlyList<string> expected)
    {
        ArgumentNullException.ThrowIfNull(expected);
        return scorer switch
        {
            "regex" => expected.Select(RegexScorer.Validate).FirstOrDefault(e => e is not null) is { } problem ? $"invalid regular expression: {problem}" : null,
            "choice" => expected.Select(ChoiceScorer.Validate).FirstOrDefault(e => e is not null),
            "json-schema" => JsonSchemaScorer.Validate(expected[0]),
            "json-equals" => IsJson(expected[0]) ? null : "not valid JSON",
            _ => null,
        };

        static bool IsJson(string text)
        {
            try
            {
                using var document = System.Text.Json.JsonDocument.Parse(text);
                return true;
            }
            catch (System.Text.Json.JsonException)
            {
                return false;
            }
        }
    }

    /// <summary>
    /// An answer the scorer passes, written from a case's expected values: every URL, one per line, for <c>url-set</c>;
    /// the first expected value for the scorers that accept any of them; none for <c>regex</c> and <c>json-schema</c>,
    /// whose expected values are patterns and schemas, or when nothing is expected.
    /// </summary>
    /// <exception cref="UnknownNameException">The scorer name is not known.</exception>
    public static string? ReferenceAnswer(string scorer, IReadOnlyList<string> expected)
    {
        ArgumentNullException.ThrowIfNull(scorer);
        ArgumentNullException.ThrowIfNull(expected);
        return scorer.Trim().ToLowerInvariant() switch
        {
            "url-set" => string.Join('\n', expected),
            "regex" or "json-schema" => null,
            var name when Names.Contains(name) => expected.Count > 0 ? expected[0] : null,
            _ => throw new UnknownNameException("scorer", scorer, Names),
        };
    }
}
