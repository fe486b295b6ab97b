using System.Globalization;
using System.Text.Json.Nodes;
using EvalMesh.Abstractions;
using EvalMesh.Contracts;
using EvalMesh.Evaluation;
using EvalMesh.Evaluation.Configuration;
using EvalMesh.Evaluation.Datasets;
using EvalMesh.Evaluation.Generation;
using EvalMesh.Evaluation.Suites;

namespace EvalMesh.Client;

/// <summary>How <see cref="CaseGeneration"/> has a model write a suite over a message dataset.</summary>
/// <param name="Dataset">The message dataset file (a Slack-style export: permalinks, users, channels, threads).</param>
/// <param name="Endpoint">The endpoint that proposes cases.</param>
public sealed record CaseGenerationOptions(string Dataset, EndpointConfig Endpoint)
{
    /// <summary>The categories to write, in the generator's order.</summary>
    public IReadOnlyList<string> Categories { get; init; } = SlackGenerator.Categories;

    /// <summary>The cases to keep per category.</summary>
    public int PerCategory { get; init; } = 8;

    /// <summary>Chooses the record each proposal is built around; the same seed and answers give the same suite.</summary>
    public int Seed { get; init; } = 7;

    /// <summary>
    /// The most proposal calls (default four per wanted case); when they are spent, or every record has had its call,
    /// what was kept is the suite.
    /// </summary>
    public int? MaxCalls { get; init; }

    /// <summary>The endpoint that answers each kept case for the second pass (default <see cref="Endpoint"/>).</summary>
    public EndpointConfig? Checker { get; init; }

    /// <summary>Adapter files llama endpoints refer to.</summary>
    public IReadOnlyList<AdapterConfig> Adapters { get; init; } = [];

    /// <summary>The budget of proposal calls.</summary>
    public int Budget => MaxCalls ?? PerCategory * Categories.Count * 4;
}

/// <summary>What became of one category's proposals.</summary>
/// <param name="Category">The category.</param>
/// <param name="Proposed">Proposal calls made.</param>
/// <param name="Kept">Cases kept.</param>
/// <param name="Flagged">Kept cases the second pass disagreed with (<c>review: true</c>).</param>
/// <param name="Records">The records its cases can be built around, one call each at most.</param>
public sealed record CategoryCounts(string Category, int Proposed, int Kept, int Flagged, int Records);

/// <summary>A proposal that was not kept.</summary>
/// <param name="Call">The proposal call (category and number).</param>
/// <param name="Reason">Why (<c>not-json</c>, <c>unsupported</c> …).</param>
/// <param name="Detail">What was wrong.</param>
public sealed record DroppedProposal(string Call, string Reason, string Detail);

/// <summary>A kept case the second pass disagreed with: what a person reviewing it needs.</summary>
/// <param name="Id">The case.</param>
/// <param name="Reasoning">The reasoning the proposing model gave for it.</param>
/// <param name="Answer">What the checking endpoint answered (empty when it gave no answer).</param>
/// <param name="Reason">The scorer's reason, or the endpoint's error.</param>
public sealed record FlaggedCase(string Id, string Reasoning, string Answer, string Reason);

/// <summary>The suite a model wrote, and what was proposed, kept, dropped and flagged.</summary>
/// <param name="Suite">
/// The kept cases, expected answers computed from the data, flagged ones marked for review; its dataset is the
/// dataset file's full path (a suite file names it relative to itself).
/// </param>
/// <param name="Categories">Counts per category.</param>
/// <param name="Dropped">The dropped proposals, in call order.</param>
/// <param name="Flagged">The flagged cases.</param>
/// <param name="Runs">The runs that asked the model (proposal rounds, then the check).</param>
public sealed record CaseGenerationResult(TestSuite Suite, IReadOnlyList<CategoryCounts> Categories, IReadOnlyList<DroppedProposal> Dropped, IReadOnlyList<FlaggedCase> Flagged, IReadOnlyList<string> Runs)
{
    /// <summary>Proposal calls made.</summary>
    public int Proposed => Categories.Sum(c => c.Proposed);

    /// <summary>Dropped proposals by reason, in the order of <see cref="DropReason"/>.</summary>
    public IReadOnlyList<KeyValuePair<string, int>> DroppedByReason =>
        [.. Enum.GetValues<DropReason>().Select(CaseProposals.Name).Select(r => KeyValuePair.Create(r, Dropped.Count(d => d.Reason == r))).Where(p => p.Value > 0)];
}

/// <summary>
/// The seed's second loop: a model writes test cases over a message dataset, each is checked against the data before
/// it is kept, and a second pass answers every kept case so that those whose computed answer it disagrees with are
/// flagged for review. Proposals go out in rounds, each a run over the cluster (<see cref="ModelQuestions"/>), until
/// every category has its cases or the call budget is spent.
/// </summary>
public static class CaseGeneration
{
    /// <summary>Writes the suite.</summary>
    /// <exception cref="EvalMeshInputException">
    /// The dataset cannot be read or lacks a field a category needs; the endpoint cannot be reached; or it wrote no
    /// valid case within the budget (with the reasons its proposals were dropped).
    /// </exception>
    public static async Task<CaseGenerationResult> RunAsync(IEvalMeshClient client, CaseGenerationOptions options, IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        if (options.PerCategory < 1)
        {
            throw new EvalMeshInputException("must be at least 1", setting: "--per-category");
        }

        if (options.Budget < 1)
        {
            throw new EvalMeshInputException("must be at least 1", setting: "--max-calls");
        }

        var dataset = DatasetReader.Read(options.Dataset);
        var records = dataset.Records;
        CaseProposals.CheckFields(records, options.Categories, options.Dataset);

        var folder = Directory.CreateTempSubdirectory("evalmesh-generate-");
        try
        {
            var numbered = Path.Combine(folder.FullName, "numbered.jsonl");
            await File.WriteAllTextAsync(numbered, Numbered(records), cancellationToken).ConfigureAwait(false);
            var categories = options.Categories.Select(c => new CategoryState(c, Anchors(records, c, options.Seed))).ToList();
            var dropped = new List<DroppedProposal>();
            var reasoning = new Dictionary<string, string>(StringComparer.Ordinal);
            var runs = new List<string>();
            var calls = 0;
            // Each call is built around a record of its own: asking about the same record again would ask the same question.
            bool Open(CategoryState c) => c.Kept.Count < options.PerCategory && c.Proposed < c.Anchors.Count;
            for (var round = 1; calls < options.Budget && categories.Any(Open); round++)
            {
                var proposals = new List<(CategoryState Category, TestCase Call)>();
                foreach (var category in categories)
                {
                    for (var i = category.Kept.Count; i < options.PerCategory && Open(category) && calls < options.Budget; i++, calls++)
                    {
                        var anchor = category.Anchors[category.Proposed];
                        var id = string.Create(CultureInfo.InvariantCulture, $"{category.Name}-call-{++category.Proposed:D3}");
                        proposals.Add((category, new TestCase(id, CaseProposals.Instruction(category.Name, anchor), ["\"question\""], new("contains"), [category.Name])));
                    }
                }

                var stage = string.Create(CultureInfo.InvariantCulture, $"propose, round {round}");
                var answers = await ModelQuestions.AskAsync(client, stage, numbered, [.. proposals.Select(p => p.Call)], CaseProposals.Prompt, options.Endpoint, "--with", options.Adapters, progress, cancellationToken).ConfigureAwait(false);
                runs.Add(answers.RunId);
                foreach (var (category, call) in proposals)
                {
                    var cell = answers.Cells[call.Id];
                    var id = string.Create(CultureInfo.InvariantCulture, $"{category.Name}-{category.Kept.Count + 1:D3}");
                    var verdict = cell.Outcome == CellOutcome.Error
                        ? ProposalVerdict.Drop(DropReason.NoAnswer, cell.Reason)
                        : CaseProposals.Judge(category.Name, id, cell.Output, records);
                    if (verdict.Case is { } kept && category.Kept.FirstOrDefault(k => k.Expected.Order(StringComparer.Ordinal).SequenceEqual(kept.Expected.Order(StringComparer.Ordinal))) is { } same)
                    {
                        verdict = ProposalVerdict.Drop(DropReason.Duplicate, $"case {same.Id} has the same answer");
                    }

                    if (verdict.Case is { } testCase)
                    {
                        category.Kept.Add(testCase);
                        reasoning[testCase.Id] = verdict.Detail;
                    }
                    else
                    {
                        dropped.Add(new DroppedProposal(call.Id, CaseProposals.Name(verdict.Reason!.Value), verdict.Detail));
                    }
                }
            }

            var all = categories.SelectMany(c => c.Kept).ToList();
            if (all.Count == 0)
            {
                var reasons = string.Join(", ", dropped.GroupBy(d => d.Reason).Select(g => $"{g.Count()} {g.Key}"));
                throw new EvalMeshInputException($"endpoint '{options.Endpoint.Name}' wrote no valid case in {calls} call(s) ({reasons}); nothing was written", setting: "--max-calls");
            }

            // The second pass: another (or the same) endpoint answers each kept case from the data, as a run would ask it.
            var (checker, setting) = options.Checker is { } other ? (other, "--check-with") : (options.Endpoint, "--with");
            var checks = await ModelQuestions.AskAsync(client, "check", Path.GetFullPath(options.Dataset), all, EvalConfig.DefaultPrompt, checker, setting, options.Adapters, progress, cancellationToken).ConfigureAwait(false);
            runs.Add(checks.RunId);
            var flagged = all.Select(c => checks.Cells[c.Id]).Where(c => c.Outcome != CellOutcome.Passed).Select(c => new FlaggedCase(c.CaseId, reasoning[c.CaseId], c.Output, c.Reason)).ToList();
            var review = flagged.Select(f => f.Id).ToHashSet(StringComparer.Ordinal);
            var suite = new TestSuite(
                $"{dataset.Name}-{options.Endpoint.Name}-seed{options.Seed}",
                Path.GetFullPath(options.Dataset),
                [.. all.Select(c => review.Contains(c.Id) ? c with { Review = true } : c)]);
            var counts = categories.Select(c => new CategoryCounts(c.Name, c.Proposed, c.Kept.Count, c.Kept.Count(k => review.Contains(k.Id)), c.Anchors.Count)).ToList();
            return new CaseGenerationResult(suite, counts, dropped, flagged, runs);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    // The records as the proposing model sees them: each with its number first.
    private static string Numbered(IReadOnlyList<JsonObject> records) =>
        JsonLines.Write(records.Select((record, index) =>
        {
            var numbered = new JsonObject { ["record"] = index + 1 };
            foreach (var (key, value) in record)
            {
                numbered[key] = value?.DeepClone();
            }

            return numbered;
        }));

    // The records a category's proposals are built around, in an order seeded by the seed and the category (the same
    // whichever other categories are asked for): one after another, so that calls differ.
    private static List<int> Anchors(IReadOnlyList<JsonObject> records, string category, int seed)
    {
        var random = new Random(unchecked((seed * 7919) + SlackGenerator.Categories.ToList().IndexOf(category)));
        return [.. CaseProposals.Anchors(records, category).OrderBy(_ => random.Next())];
    }

    private sealed class CategoryState(string name, List<int> anchors)
    {
        public string Name => name;

        public List<int> Anchors => anchors;

        public int Proposed { get; set; }

        public List<TestCase> Kept { get; } = [];
    }
}
