using EvalMesh.Evaluation.Configuration;
using EvalMesh.Evaluation.Formats;
using EvalMesh.Evaluation.Generation;
using EvalMesh.Evaluation.Scoring;
using EvalMesh.Inference.Tiny;
using EvalMesh.Training.Data;

namespace EvalMesh.Training.Recipes;

/// <summary>One stage of the recipe's training of the base model.</summary>
/// <param name="Name">Its name in progress reports.</param>
/// <param name="Seeds">How many generator seeds (datasets) it trains on.</param>
/// <param name="Categories">The question categories it trains on.</param>
/// <param name="RecordsPerCase">The most records a question's context has (a dataset's k cycles from 1 to this).</param>
/// <param name="CasesPerCategory">Questions per category per dataset.</param>
public sealed record TinyStage(string Name, int Seeds, IReadOnlyList<string> Categories, int RecordsPerCase, int CasesPerCategory);

/// <summary>One question of the recipe's data: its prompt as a run builds it, and the answer the model should give.</summary>
/// <param name="Seed">The generator seed of its dataset.</param>
/// <param name="CaseId">The generated case's id.</param>
/// <param name="Format">The format its records are rendered in.</param>
/// <param name="Category">The question's category (index, content, user, compound, thread).</param>
/// <param name="Prompt">The prompt, as a run builds it for a question with its own records: the template's head, then the records and the question.</param>
/// <param name="Expected">The expected permalinks.</param>
public sealed record TinyExample(int Seed, string CaseId, string Format, string Category, Prompt Prompt, IReadOnlyList<string> Expected)
{
    /// <summary>The answer trained towards: the permalinks one per line, as <c>export-finetune</c> writes them.</summary>
    public string Answer => ScorerFactory.ReferenceAnswer("url-set", Expected)!;
}

/// <summary>
/// How <c>evalmesh models train-tiny</c> trains the built-in tiny model: generated Slack question answering over retrieved
/// contexts (one or two records per question), in four of the seed experiment's formats (and an adapter for each of the
/// other two), with prompts built exactly as a run builds them from
/// <c>client/examples/slack-formats.yaml</c>'s template. Seeds in <see cref="HeldOutSeeds"/> are never trained on.
/// </summary>
public sealed record TinyRecipe
{
    /// <summary>The prompt template of the seed experiment (<c>client/examples/slack-formats.yaml</c>); a test keeps them equal.</summary>
    public const string PromptTemplate = """
        You answer questions about Slack messages. The messages are given as {{format}}.

        {{context}}

        Question: {{question}}
        Answer with the permalink URLs only.
        Answer:

        """;

    /// <summary>
    /// Generator seeds never trained on: 7, the README's seed experiment, and 100 to 119, on which accuracy is measured.
    /// Training seeds start at <see cref="FirstSeed"/>.
    /// </summary>
    public static IReadOnlyList<int> HeldOutSeeds { get; } = [7, .. Enumerable.Range(100, 20)];

    /// <summary>The six formats of the seed experiment.</summary>
    public static IReadOnlyList<string> SeedExperimentFormats { get; } = ["oneline-json", "pretty-json", "csv", "yaml", "markdown-table", "toon"];

    /// <summary>
    /// The model's shape. Its vocabulary is learnt from ten training seeds' data and splits digits one by one (as
    /// LLaMA's tokenizer does): copying a permalink's timestamp is then copying digits, which this model learns in a
    /// few thousand steps, where pieces of numbers it rarely sees left it copying almost right.
    /// </summary>
    public TinyModelShape Shape { get; init; } = new(Embedding: 64, Blocks: 3, Heads: 4, FeedForward: 192, ContextLength: 32768, VocabularySize: 4096, DigitRun: 1, CorpusSeed: 1000, CorpusSeeds: 10, TiedOutput: true);

    /// <summary>The first training seed; the stages, then the adapters, use consecutive seeds from it.</summary>
    public int FirstSeed { get; init; } = 1000;

    /// <summary>Messages per generated dataset (as the seed experiment's).</summary>
    public int Messages { get; init; } = 100;

    /// <summary>
    /// Records per question's context (k) where accuracy is measured: 1, the records the question needs and no others,
    /// as the seed experiment gives them. Over more, this shape does not learn to pick among records (see the README).
    /// </summary>
    public int RecordsPerCase { get; init; } = 1;

    /// <summary>
    /// The base model's curriculum, trained in order, each stage starting from the last one's weights: copying (the
    /// only record's permalink, asked by number), then the same over one or two records (asked for one of them).
    /// </summary>
    public IReadOnlyList<TinyStage> Stages { get; init; } =
    [
        new("copy", Seeds: 800, ["index"], RecordsPerCase: 1, CasesPerCategory: 40),
        new("pick", Seeds: 800, ["index"], RecordsPerCase: 2, CasesPerCategory: 40),
    ];

    /// <summary>
    /// The formats the base model is trained on; a question's format rotates through them. Four of the seed
    /// experiment's six: csv and toon are left to the adapters, so that the experiment has a base that reads some
    /// formats and not others, and adapters that teach it one.
    /// </summary>
    public IReadOnlyList<string> Formats { get; init; } = ["oneline-json", "pretty-json", "yaml", "markdown-table"];

    /// <summary>Held-out seeds whose questions (two per category, in every format) give the validation loss.</summary>
    public IReadOnlyList<int> ValidationSeeds { get; init; } = [100, 101];

    /// <summary>Seeds the initial weights and the order of examples.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Threads of the trainer; the processor count when null. The same count gives the same weights.</summary>
    public int? Threads { get; init; }

    /// <summary>AdamW's peak learning rate for the base model.</summary>
    public float LearningRate { get; init; } = 3e-3f;

    /// <summary>Questions per optimizer step.</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>The fraction of steps over which the learning rate warms up.</summary>
    public float WarmupFraction { get; init; } = 0.03f;

    /// <summary>AdamW's weight decay.</summary>
    public float WeightDecay { get; init; } = 0.01f;

    /// <summary>Questions with more tokens than this (prompt and answer) are not trained on.</summary>
    public int MaxSequenceLength { get; init; } = 3072;

    /// <summary>The adapters trained on the base, adapter-1 first: each on one of the formats the base was not trained on.</summary>
    public IReadOnlyList<TinyAdapterRecipe> Adapters { get; init; } = [new("adapter-1", ["csv"], 60), new("adapter-2", ["toon"], 60)];

    /// <summary>
    /// The questions of one generated dataset in <paramref name="categories"/> over contexts of
    /// <paramref name="recordsPerCase"/> records: each case in the formats <paramref name="formatOf"/> picks.
    /// </summary>
    public IEnumerable<TinyExample> Examples(int seed, Func<int, IReadOnlyList<string>> formatOf, IReadOnlyList<string> categories, int casesPerCategory, int recordsPerCase)
    {
        ArgumentNullException.ThrowIfNull(formatOf);
        ArgumentNullException.ThrowIfNull(categories);
        var data = SlackGenerator.Generate(new SlackGeneratorOptions(Messages, seed, casesPerCategory, RecordsPerCase: recordsPerCase, Categories: categories));
        for (var i = 0; i < data.Suite.Cases.Count; i++)
        {
            var testCase = data.Suite.Cases[i];
            var records = testCase.Records!.Select(r => data.Messages[r - 1]).ToList();
            foreach (var format in formatOf(i))
            {
                var prompt = Evaluation.Configuration.PromptTemplate.Compile(PromptTemplate, format, context: null).For(testCase.Question, RecordFormats.Get(format).Render(records));
                yield return new TinyExample(seed, testCase.Id, format, testCase.Tags[0], prompt, testCase.Expected);
            }
        }
    }

    /// <summary>Held-out questions (of <paramref name="seeds"/>, every category, in every format of the seed experiment, at the measured k).</summary>
    public IEnumerable<TinyExample> HeldOutExamples(IEnumerable<int> seeds, int casesPerCategory) =>
        seeds.SelectMany(s => Examples(s, _ => SeedExperimentFormats, SlackGenerator.Categories, casesPerCategory, RecordsPerCase));

    /// <summary>
    /// The training questions of one seed for <paramref name="stage"/>, each in one of <paramref name="formats"/>
    /// (rotating); the seed's k cycles from 1 to the stage's, so that short contexts come in every stage.
    /// </summary>
    public IEnumerable<TinyExample> TrainingExamples(int seed, TinyStage stage, IReadOnlyList<string> formats)
    {
        ArgumentNullException.ThrowIfNull(stage);
        ArgumentNullException.ThrowIfNull(formats);
        return Examples(seed, i => [formats[(seed + i) % formats.Count]], stage.Categories, stage.CasesPerCategory, 1 + (seed % stage.RecordsPerCase));
    }

    /// <summary>Writes examples as chat JSONL (one user message, the assistant's answer), the trainer's input.</summary>
    public static void WriteJsonl(string path, IEnumerable<TinyExample> examples) =>
        ChatJsonl.Write(path, examples.Select(e => (e.Prompt.Text, e.Answer)));
}
