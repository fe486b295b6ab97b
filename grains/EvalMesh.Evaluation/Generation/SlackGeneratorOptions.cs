namespace EvalMesh.Evaluation.Generation;

/// <summary>Settings of the Slack-style generator.</summary>
/// <param name="Messages">How many messages; half of them are in threads. At least 4.</param>
/// <param name="Seed">The seed; the same seed and settings give the same data.</param>
/// <param name="CasesPerCategory">Test cases per category (index, content, user, compound, thread).</param>
/// <param name="Workspace">The Slack workspace in permalinks.</param>
/// <param name="RecordsPerCase">
/// Null: every question is over the whole dataset. Otherwise each case names its retrieved context in
/// <see cref="Suites.TestCase.Records"/>: the records its answer needs (always all of them, even more than this) plus
/// random others up to this many, in dataset order; index questions count positions within those records. The
/// questions are otherwise the same as without it. At least 1.
/// </param>
/// <param name="Categories">
/// Null: every category. Otherwise the cases of these categories only (of <see cref="SlackGenerator.Categories"/>); they
/// are the same cases, with the same ids, as without it.
/// </param>
public sealed record SlackGeneratorOptions(int Messages = 100, int Seed = 7, int CasesPerCategory = 4, string Workspace = "evalmesh-demo", int? RecordsPerCase = null, IReadOnlyList<string>? Categories = null);
