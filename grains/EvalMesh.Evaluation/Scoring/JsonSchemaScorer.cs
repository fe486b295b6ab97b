using System.Collections.Concurrent;
using System.Text.Json;
using Json.Schema;

namespace EvalMesh.Evaluation.Scoring;

/// <summary>
/// <c>json-schema</c>: the first JSON value in the answer (a Markdown code fence around it is fine) is valid against the
/// expected JSON Schema (draft 2020-12 unless the schema says otherwise), as promptfoo's <c>is-json</c> with a schema.
/// A failure names where and why, for the first few errors.
/// </summary>
public sealed class JsonSchemaScorer : IScorer
{
    private const int ErrorsShown = 3;

    // Each schema is built once per process; each in a registry of its own, so that schemas with the same $id cannot
    // meet.
    private static readonly ConcurrentDictionary<string, JsonSchema> Schemas = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public string Name => "json-schema";

    /// <summary>Checks that a schema builds, so that a bad one is reported when the suite loads.</summary>
    /// <returns>Null when it does, else why not.</returns>
    public static string? Validate(string schema)
    {
        try
        {
            _ = SchemaOf(schema);
            return null;
        }
        catch (Exception ex) when (ex is JsonException or JsonSchemaException or RefResolutionException or ArgumentException or InvalidOperationException or FormatException)
        {
            return $"not a JSON Schema: {ex.Message}";
        }
    }

    /// <inheritdoc />
    public ValueTask<ScoreResult> ScoreAsync(ScoreRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Expected.Count == 0)
        {
            return ValueTask.FromResult(ScoreResult.Fail("the expected schema is missing"));
        }

        if (Validate(request.Expected[0]) is { } problem)
        {
            return ValueTask.FromResult(ScoreResult.Fail($"the expected value is {problem}"));
        }

        if (!JsonEqualsScorer.TryFindJson(request.Output, out var value))
        {
            return ValueTask.FromResult(ScoreResult.Fail("the answer holds no JSON value"));
        }

        var results = SchemaOf(request.Expected[0]).Evaluate(JsonSerializer.SerializeToElement(value), new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (results.IsValid)
        {
            return ValueTask.FromResult(ScoreResult.Pass("the answer's JSON matches the schema"));
        }

        var errors = (results.Details ?? [])
            .Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"{Location(d.InstanceLocation.ToString())}: {e.Value}"))
            .ToList();
        var shown = string.Join("; ", errors.Take(ErrorsShown)) + (errors.Count > ErrorsShown ? $"; and {errors.Count - ErrorsShown} more" : string.Empty);
        return ValueTask.FromResult(ScoreResult.Fail($"the answer's JSON does not match the schema: {(errors.Count == 0 ? "invalid" : shown)}"));
    }

    private static string Location(string pointer) => pointer.Length == 0 ? "the value" : pointer;

    private static JsonSchema SchemaOf(string schema) =>
        Schemas.GetOrAdd(schema, text => JsonSchema.FromText(text, new BuildOptions { SchemaRegistry = new SchemaRegistry() }));
}
