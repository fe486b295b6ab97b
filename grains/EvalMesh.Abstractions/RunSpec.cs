using EvalMesh.Contracts;

namespace EvalMesh.Abstractions;

/// <summary>A suite as a run refers to it: its cases live in an <see cref="ITestSuiteGrain"/>, its records in an <see cref="IDatasetGrain"/>.</summary>
/// <param name="Name">The suite's name in the config.</param>
/// <param name="SuiteId">The suite grain's key (a hash of its cases).</param>
/// <param name="DatasetId">The dataset grain's key (a hash of its records).</param>
/// <param name="CaseCount">How many cases the suite has.</param>
/// <param name="Context">How its questions' records were chosen (such as <c>bm25, k = 10</c>), or null when each is given the whole dataset.</param>
/// <param name="ContextRecall">
/// The share of the records an expected answer needs that its question was given, averaged over the cases that need
/// one (null when none does, or when the whole dataset is given).
/// </param>
[GenerateSerializer, Immutable, Alias("evalmesh.suite-ref")]
public sealed record SuiteRef(
    [property: Id(0)] string Name,
    [property: Id(1)] string SuiteId,
    [property: Id(2)] string DatasetId,
    [property: Id(3)] int CaseCount,
    [property: Id(4)] string? Context = null,
    [property: Id(5)] double? ContextRecall = null);

/// <summary>Everything a cluster needs to run a format × model matrix; datasets and cases are uploaded separately.</summary>
/// <param name="Description">What the run is for.</param>
/// <param name="Suites">The suites.</param>
/// <param name="Formats">The formats to compare.</param>
/// <param name="Tokenizers">The tokenizers whose prompt-token counts are recorded.</param>
/// <param name="Endpoints">The endpoints to ask.</param>
/// <param name="Adapters">Named adapter files llama endpoints refer to.</param>
/// <param name="Judge">The endpoint that grades <c>llm-judge</c> cases, if any.</param>
/// <param name="Prompt">The prompt template.</param>
/// <param name="Repeats">How many times each cell runs.</param>
/// <param name="Concurrency">Cells in flight per shard.</param>
/// <param name="ShardSize">The most cells per shard.</param>
/// <param name="Schedule">The order in which shards are dispatched.</param>
/// <param name="CaseLimit">When set, each suite ran only its first this many cases (the config's <c>limit</c>).</param>
/// <param name="Recommend">How the report chooses a format (the config's <c>recommend</c>); null for the defaults.</param>
/// <param name="System">A system message sent before each prompt, if any.</param>
[GenerateSerializer, Immutable, Alias("evalmesh.run-spec")]
public sealed record RunSpec(
    [property: Id(0)] string? Description,
    [property: Id(1)] IReadOnlyList<SuiteRef> Suites,
    [property: Id(2)] IReadOnlyList<string> Formats,
    [property: Id(3)] IReadOnlyList<string> Tokenizers,
    [property: Id(4)] IReadOnlyList<EndpointConfig> Endpoints,
    [property: Id(5)] IReadOnlyList<AdapterConfig> Adapters,
    [property: Id(6)] EndpointConfig? Judge,
    [property: Id(7)] string Prompt,
    [property: Id(8)] int Repeats,
    [property: Id(9)] int Concurrency,
    [property: Id(10)] int ShardSize,
    [property: Id(11)] RunSchedule Schedule = RunSchedule.AdapterAware,
    [property: Id(12)] int? CaseLimit = null,
    [property: Id(13)] RecommendSettings? Recommend = null,
    [property: Id(14)] string? System = null)
{
    /// <summary>The number of cells: cases × formats × endpoints × repeats, over all suites.</summary>
    public long TotalCells => (long)Suites.Sum(s => s.CaseCount) * Formats.Count * Endpoints.Count * Repeats;
}

/// <summary>A shard's place in a run's matrix: one suite and one endpoint, a range of cases, every format and repeat.</summary>
/// <param name="SuiteIndex">Index into <see cref="RunSpec.Suites"/>.</param>
/// <param name="EndpointIndex">Index into <see cref="RunSpec.Endpoints"/>.</param>
/// <param name="CaseStart">First case index (inclusive).</param>
/// <param name="CaseEnd">Last case index (exclusive).</param>
[GenerateSerializer, Immutable, Alias("evalmesh.shard-plan")]
public sealed record ShardPlan(
    [property: Id(0)] int SuiteIndex,
    [property: Id(1)] int EndpointIndex,
    [property: Id(2)] int CaseStart,
    [property: Id(3)] int CaseEnd);

/// <summary>What a shard grain runs: its run, its number and its place in the run's matrix.</summary>
/// <param name="RunId">The run.</param>
/// <param name="ShardNo">The shard's number within the run.</param>
/// <param name="Run">The run's spec.</param>
/// <param name="Plan">Its suite, endpoint and cases.</param>
[GenerateSerializer, Immutable, Alias("evalmesh.shard-spec")]
public sealed record ShardSpec(
    [property: Id(0)] string RunId,
    [property: Id(1)] int ShardNo,
    [property: Id(2)] RunSpec Run,
    [property: Id(3)] ShardPlan Plan)
{
    /// <summary>The shard grain's key.</summary>
    public string Key => GrainKeys.Shard(RunId, ShardNo);

    /// <summary>The shard's endpoint.</summary>
    public EndpointConfig Endpoint => Run.Endpoints[Plan.EndpointIndex];

    /// <summary>The shard's suite.</summary>
    public SuiteRef Suite => Run.Suites[Plan.SuiteIndex];

    /// <summary>How many cells the shard has.</summary>
    public int CellCount => (Plan.CaseEnd - Plan.CaseStart) * Run.Formats.Count * Run.Repeats;

    /// <summary>The id of a cell: suite, case, format, endpoint and repeat.</summary>
    public static string CellId(string suite, string caseId, string format, string endpoint, int repeat) =>
        $"{suite}/{caseId}/{format}/{endpoint}/{repeat}";
}

/// <summary>What readers of a run's results need from its run grain.</summary>
/// <param name="Status">The run's status.</param>
/// <param name="Spec">The run's spec.</param>
/// <param name="ShardCount">How many shards its results are stored in.</param>
[GenerateSerializer, Immutable, Alias("evalmesh.run-outline")]
public sealed record RunOutline(
    [property: Id(0)] RunStatus Status,
    [property: Id(1)] RunSpec Spec,
    [property: Id(2)] int ShardCount);
