namespace EvalMesh.Evaluation.Generation;

/// <summary>Settings of the Slack-style generator.</summary>
/// <param name="Messages">How many messages; half of them are in threads. At least 4.</param>
/// <param name="Seed">The seed; the same seed and settings give the same data.</param>
/// <param name="CasesPerCategory">Test cases per category (index, content, user, compound, thread).</param>
/// <param name="Workspace">The Slack workspace in permalinks.</param>
public sealed record SlackGeneratorOptions(int Messages = 100, int Seed = 7, int CasesPerCategory = 4, string Workspace = "evalmesh-demo");
