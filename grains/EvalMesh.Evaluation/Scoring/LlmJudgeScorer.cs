using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace EvalMesh.Evaluation.Scoring;

/// <summary>
/// <c>llm-judge</c>: asks a judge model whether the answer satisfies a rubric, in the style of promptfoo's
/// llm-rubric. The judge replies with JSON <c>{"pass": bool, "score": 0..1, "reason": "..."}</c>; a reply that is
/// not such JSON is a failed score that says so.
/// </summary>
public sealed class LlmJudgeScorer(IChatClient judge, string rubric) : IScorer
{
    /// <inheritdoc />
    public string Name => "llm-judge";

    /// <summary>The prompt the judge sees.</summary>
    public string BuildPrompt(ScoreRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return $$"""
            You grade an answer against a rubric. Reply with only a JSON object: {"pass": true|false, "score": 0..1, "reason": "<one sentence>"}.

            Rubric: {{rubric}}
            Question: {{request.Question}}
            Expected: {{string.Join(" | ", request.Expected)}}
            Answer: {{request.Output}}
            """;
    }

    /// <inheritdoc />
    public async ValueTask<ScoreResult> ScoreAsync(ScoreRequest request, CancellationToken cancellationToken = default)
    {
        var response = await judge.GetResponseAsync(BuildPrompt(request), cancellationToken: cancellationToken).ConfigureAwait(false);
        return ParseVerdict(response.Text);
    }

    internal static ScoreResult ParseVerdict(string reply)
    {
        var start = reply.IndexOf('{', StringComparison.Ordinal);
        var end = reply.LastIndexOf('}');
        if (start < 0 || end <= start)
        {
            return ScoreResult.Fail("the judge's reply holds no JSON verdict");
        }

        try
        {
            var verdict = JsonNode.Parse(reply[start..(end + 1)]) as JsonObject;
            if (verdict?["pass"] is not JsonValue passNode || !passNode.TryGetValue<bool>(out var passed))
            {
                return ScoreResult.Fail("the judge's verdict has no boolean 'pass'");
            }

            var score = verdict["score"] is JsonValue s && s.TryGetValue<double>(out var value) ? Math.Clamp(value, 0, 1) : (passed ? 1 : 0);
            var reason = verdict["reason"]?.GetValue<string>() ?? string.Empty;
            return new ScoreResult(score, passed, string.Create(CultureInfo.InvariantCulture, $"judge: {reason}"));
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            return ScoreResult.Fail("the judge's verdict is not valid JSON");
        }
    }
}
