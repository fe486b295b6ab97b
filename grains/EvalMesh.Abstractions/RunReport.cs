using EvalMesh.Contracts;

namespace EvalMesh.Abstractions;

/// <summary>One (suite, format, endpoint) of the matrix, computed from every stored result.</summary>
/// <param name="Suite">The suite.</param>
/// <param name="Format">The format.</param>
/// <param name="Endpoint">The endpoint.</param>
/// <param name="Cells">Cells with a result.</param>
/// <param name="Passed">Passed cells.</param>
/// <param name="Failed">Failed cells.</param>
/// <param name="Errors">Errored cells, excluded from accuracy.</param>
/// <param name="Accuracy">The mean over cases of each case's pass rate across its repeats.</param>
/// <param name="AccuracyLower">Lower bound of its 95% interval, clustered by case.</param>
/// <param name="AccuracyUpper">Upper bound of its 95% interval, clustered by case.</param>
/// <param name="MeanPromptTokens">Mean prompt tokens per tokenizer, over every cell it counted (errored ones too).</param>
/// <param name="MeanCompletionTokens">Mean completion tokens, when reported.</param>
/// <param name="LatencyP50Ms">Median latency.</param>
/// <param name="LatencyP95Ms">95th percentile latency.</param>
/// <param name="Cases">Cases with at least one scored repeat: the accuracy's sample.</param>
/// <param name="CasesOnlyErrors">Cases left out of the accuracy because every repeat ended in an error.</param>
/// <param name="EffectiveCases">The independent pass/fail trials the cases and their repeats are worth.</param>
/// <param name="Interval">How the interval was made: Wilson over the cases, or clustered by case.</param>
/// <param name="UnstableShare">With repeats: the share of cases whose outcome differs between repeats; null with one repeat.</param>
/// <param name="Cost">
/// What the row's answered cells cost at the endpoint's price (config <c>cost</c>), from the tokens the endpoint itself
/// counted for each (<c>native</c> prompt tokens and completion tokens), in the price's currency; null without a price
/// or without such counts (a cell that errored before an answer is not priced). A cell answered from the response cache is priced as if asked.
/// </param>
/// <param name="MeanCost">The cost of a cell, on average over the cells priced; null when <see cref="Cost"/> is.</param>
[GenerateSerializer, Immutable, Alias("evalmesh.report-row")]
public sealed record ReportRow(
    [property: Id(0)] string Suite,
    [property: Id(1)] string Format,
    [property: Id(2)] string Endpoint,
    [property: Id(3)] int Cells,
    [property: Id(4)] int Passed,
    [property: Id(5)] int Failed,
    [property: Id(6)] int Errors,
    [property: Id(7)] double Accuracy,
    [property: Id(8)] double AccuracyLower,
    [property: Id(9)] double AccuracyUpper,
    [property: Id(10)] IReadOnlyDictionary<string, double> MeanPromptTokens,
    [property: Id(11)] double? MeanCompletionTokens,
    [property: Id(12)] double LatencyP50Ms,
    [property: Id(13)] double LatencyP95Ms,
    [property: Id(14)] int Cases = 0,
    [property: Id(15)] int CasesOnlyErrors = 0,
    [property: Id(16)] double EffectiveCases = 0,
    [property: Id(17)] IntervalMethod Interval = IntervalMethod.Wilson,
    [property: Id(18)] double? UnstableShare = null,
    [property: Id(19)] double? Cost = null,
    [property: Id(20)] double? MeanCost = null);

/// <summary>Accuracy of one category (index, content, user, compound, thread …) for a format and endpoint.</summary>
/// <param name="Suite">The suite.</param>
/// <param name="Format">The format.</param>
/// <param name="Endpoint">The endpoint.</param>
/// <param name="Category">The tag.</param>
/// <param name="Passed">Passed cells.</param>
/// <param name="Scored">Passed plus failed cells.</param>
[GenerateSerializer, Immutable, Alias("evalmesh.category-row")]
public sealed record CategoryRow(
    [property: Id(0)] string Suite,
    [property: Id(1)] string Format,
    [property: Id(2)] string Endpoint,
    [property: Id(3)] string Category,
    [property: Id(4)] int Passed,
    [property: Id(5)] int Scored);

/// <summary>
/// Two formats compared on the same cases and endpoint, paired by case: the mean per-case
/// difference of their pass rates (repeats averaged) with its 95% interval and the two-sided p-value of no difference.
/// </summary>
/// <param name="Suite">The suite.</param>
/// <param name="Endpoint">The endpoint.</param>
/// <param name="FormatA">The first format.</param>
/// <param name="FormatB">The second format.</param>
/// <param name="ABetter">Cases where A's pass rate is higher (with one repeat: only A passed).</param>
/// <param name="BBetter">Cases where B's pass rate is higher.</param>
/// <param name="PValue">Two-sided p-value of no difference (Tango's score test; McNemar's statistic with one repeat).</param>
/// <param name="Cases">Cases scored in both formats.</param>
/// <param name="Difference">A's accuracy minus B's on those cases.</param>
/// <param name="DifferenceLower">Lower bound of the difference's 95% interval.</param>
/// <param name="DifferenceUpper">Upper bound of the difference's 95% interval.</param>
[GenerateSerializer, Immutable, Alias("evalmesh.format-comparison")]
public sealed record FormatPair(
    [property: Id(0)] string Suite,
    [property: Id(1)] string Endpoint,
    [property: Id(2)] string FormatA,
    [property: Id(3)] string FormatB,
    [property: Id(4)] int ABetter,
    [property: Id(5)] int BBetter,
    [property: Id(6)] double PValue,
    [property: Id(7)] int Cases,
    [property: Id(8)] double Difference,
    [property: Id(9)] double DifferenceLower,
    [property: Id(10)] double DifferenceUpper);

/// <summary>
/// The format to use for a suite on an endpoint: the cheapest shown at most the margin less accurate than the most
/// accurate format, or "inconclusive" with the cases that would decide.
/// </summary>
/// <param name="Suite">The suite.</param>
/// <param name="Endpoint">The endpoint.</param>
/// <param name="Tokenizer">The tokenizer whose counts decided cost.</param>
/// <param name="Format">The recommended format; null when inconclusive.</param>
/// <param name="Best">The most accurate format.</param>
/// <param name="Reason">Why.</param>
/// <param name="Verdict">What the answer rests on, or <see cref="RecommendationVerdict.Inconclusive"/>.</param>
/// <param name="CasesNeeded">When inconclusive: about how many cases would decide at 80% power; null when more cases would not.</param>
/// <param name="Formats">Every format against the most accurate one, cheapest first.</param>
[GenerateSerializer, Immutable, Alias("evalmesh.recommendation")]
public sealed record Recommendation(
    [property: Id(0)] string Suite,
    [property: Id(1)] string Endpoint,
    [property: Id(2)] string Tokenizer,
    [property: Id(3)] string? Format,
    [property: Id(4)] string? Best,
    [property: Id(5)] string Reason,
    [property: Id(6)] RecommendationVerdict Verdict = RecommendationVerdict.Inconclusive,
    [property: Id(7)] int? CasesNeeded = null,
    [property: Id(8)] IReadOnlyList<FormatStandingRow>? Formats = null);

/// <summary>One format against the most accurate one, as the recommendation weighed it.</summary>
/// <param name="Format">The format.</param>
/// <param name="MeanPromptTokens">Its mean prompt tokens under the tokenizer that decides cost.</param>
/// <param name="Accuracy">Its accuracy over cases.</param>
/// <param name="AccuracyLower">Lower bound of the accuracy's 95% interval.</param>
/// <param name="AccuracyUpper">Upper bound of the accuracy's 95% interval.</param>
/// <param name="Difference">Its accuracy minus the most accurate format's, paired by case; null for the most accurate format.</param>
/// <param name="DifferenceLower">Lower bound of the difference's 95% interval.</param>
/// <param name="DifferenceUpper">Upper bound of the difference's 95% interval.</param>
/// <param name="PValue">The p-value behind its standing (Holm-adjusted non-inferiority for the cheaper formats), if it was tested.</param>
/// <param name="Standing">Where it stands.</param>
[GenerateSerializer, Immutable, Alias("evalmesh.format-standing")]
public sealed record FormatStandingRow(
    [property: Id(0)] string Format,
    [property: Id(1)] double MeanPromptTokens,
    [property: Id(2)] double Accuracy,
    [property: Id(3)] double AccuracyLower,
    [property: Id(4)] double AccuracyUpper,
    [property: Id(5)] double? Difference,
    [property: Id(6)] double? DifferenceLower,
    [property: Id(7)] double? DifferenceUpper,
    [property: Id(8)] double? PValue,
    [property: Id(9)] FormatStanding Standing);

/// <summary>A run's report: the matrix with intervals, token costs and latencies, categories, comparisons and recommendations.</summary>
/// <param name="Run">The run's status.</param>
/// <param name="Rows">One row per (suite, format, endpoint).</param>
/// <param name="Categories">Accuracy per category.</param>
/// <param name="Comparisons">Paired per-case comparisons between formats.</param>
/// <param name="Recommendations">The recommended format per suite and endpoint.</param>
/// <param name="Notes">Things a reader must know, such as "this is a smoke model".</param>
/// <param name="Settings">How the run asked, so that its figures can be reproduced.</param>
/// <param name="Cost">The run's cost: its rows' added up (null when no row has one).</param>
[GenerateSerializer, Immutable, Alias("evalmesh.run-report")]
public sealed record RunReport(
    [property: Id(0)] RunStatus Run,
    [property: Id(1)] IReadOnlyList<ReportRow> Rows,
    [property: Id(2)] IReadOnlyList<CategoryRow> Categories,
    [property: Id(3)] IReadOnlyList<FormatPair> Comparisons,
    [property: Id(4)] IReadOnlyList<Recommendation> Recommendations,
    [property: Id(5)] IReadOnlyList<string> Notes,
    [property: Id(6)] RunSettings? Settings = null,
    [property: Id(7)] double? Cost = null);

/// <summary>How a run asked: its repeats, case limit, each endpoint's model and generation settings (never a key) and how a format is recommended.</summary>
/// <param name="Repeats">Repeats per cell; a sampled cell's seed is its repeat.</param>
/// <param name="CaseLimit">When set, each suite ran only its first this many cases.</param>
/// <param name="Endpoints">The endpoints, in the config's order.</param>
/// <param name="Recommend">The non-inferiority margin and level the recommendation used.</param>
[GenerateSerializer, Immutable, Alias("evalmesh.run-settings")]
public sealed record RunSettings(
    [property: Id(0)] int Repeats,
    [property: Id(1)] int? CaseLimit,
    [property: Id(2)] IReadOnlyList<EndpointSettings> Endpoints,
    [property: Id(3)] RecommendSettings? Recommend = null);

/// <summary>One endpoint's model and generation settings.</summary>
/// <param name="Name">The endpoint's name.</param>
/// <param name="Type"><c>llama</c>, <c>openai</c> or <c>echo</c>.</param>
/// <param name="Model">The model (a GGUF file, <c>tiny</c>, or the name asked of an OpenAI-compatible server).</param>
/// <param name="Adapter">The LoRA adapter, if any.</param>
/// <param name="BaseUrl">An OpenAI-compatible server's base URL.</param>
/// <param name="MaxTokens">The most tokens generated.</param>
/// <param name="Temperature">Sampling temperature; 0 is greedy.</param>
/// <param name="TopP">Nucleus sampling's top-p; 1 is the whole distribution.</param>
/// <param name="Cost">The price per million tokens the report's costs are at, if any.</param>
/// <param name="RateLimit">The cluster-wide limits the endpoint was asked under, if any.</param>
[GenerateSerializer, Immutable, Alias("evalmesh.endpoint-settings")]
public sealed record EndpointSettings(
    [property: Id(0)] string Name,
    [property: Id(1)] string Type,
    [property: Id(2)] string? Model,
    [property: Id(3)] string? Adapter,
    [property: Id(4)] string? BaseUrl,
    [property: Id(5)] int MaxTokens,
    [property: Id(6)] double Temperature,
    [property: Id(7)] double TopP,
    [property: Id(8)] EndpointPrice? Cost = null,
    [property: Id(9)] RateLimit? RateLimit = null);

/// <summary>The part of a run's prompts that every cell of one suite and format shares: the template up to and including the rendered context.</summary>
/// <param name="Suite">The suite.</param>
/// <param name="Format">The format the context is rendered in.</param>
/// <param name="Head">The shared text; a cell's whole prompt is this followed by its <see cref="CellResult.PromptTail"/>.</param>
[GenerateSerializer, Immutable, Alias("evalmesh.prompt-head")]
public sealed record PromptHead(
    [property: Id(0)] string Suite,
    [property: Id(1)] string Format,
    [property: Id(2)] string Head);
