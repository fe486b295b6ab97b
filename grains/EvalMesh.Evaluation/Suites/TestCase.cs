using System.Text.Json.Serialization;
using EvalMesh.Evaluation.Scoring;

namespace EvalMesh.Evaluation.Suites;

/// <summary>A question over a dataset, its expected answer and how to score it.</summary>
/// <param name="Id">Unique within its suite.</param>
/// <param name="Question">What the model is asked.</param>
/// <param name="Expected">The expected values (see <see cref="ScoreRequest.Expected"/>).</param>
/// <param name="Scorer">How answers are scored.</param>
/// <param name="Tags">Categories for breakdowns, such as <c>index</c> or <c>thread</c>.</param>
/// <param name="Records">
/// The case's retrieved context: 1-based numbers of dataset records, ascending (the records its answer needs and
/// others beside them); null when the question is over the whole dataset.
/// </param>
/// <param name="Review">
/// The case was written by a model and a second model's answer disagreed with its expected answer: a person should
/// look at it (suite files say <c>review: true</c>). It still runs as any other case.
/// </param>
public sealed record TestCase(
    string Id,
    string Question,
    IReadOnlyList<string> Expected,
    ScorerSpec Scorer,
    IReadOnlyList<string> Tags,
    IReadOnlyList<int>? Records = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] bool Review = false);

/// <summary>A named list of test cases over one dataset.</summary>
/// <param name="Name">The suite's name.</param>
/// <param name="Dataset">The dataset file the cases are about, relative to the suite file, when there is one.</param>
/// <param name="Cases">The cases in order.</param>
public sealed record TestSuite(string Name, string? Dataset, IReadOnlyList<TestCase> Cases);
