namespace EvalMesh.Abstractions;

/// <summary>One (suite, format, endpoint) of the matrix, computed from every stored result.</summary>
/// <param name="Suite">The suite.</param>
/// <param name="Format">The format.</param>
/// <param name="Endpoint">The endpoint.</param>
/// <param name="Cells">Cells with a result.</param>
/// <param name="Passed">Passed cells.</param>
/// <param name="Failed">Failed cells.</param>
/// <param name="Errors">Errored cells, excluded from accuracy.</param>
/// <param name="Accuracy">Passed / (passed + failed).</param>
/// <param name="AccuracyLower">Wilson 95% lower bound.</param>
/// <param name="AccuracyUpper">Wilson 95% upper bound.</param>
/// <param name="MeanPromptTokens">Mean prompt tokens per tokenizer.</param>
/// <param name="MeanCompletionTokens">Mean completion tokens, when reported.</param>
/// <param name="LatencyP50Ms">Median latency.</param>
/// <param name="LatencyP95Ms">95th percentile latency.</param>
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
    [property: Id(13)] double LatencyP95Ms);

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

/// <summary>An exact McNemar comparison of two formats on the same cases, repeats and endpoint.</summary>
/// <param name="Suite">The suite.</param>
/// <param name="Endpoint">The endpoint.</param>
/// <param name="FormatA">The first format.</param>
/// <param name="FormatB">The second format.</param>
/// <param name="OnlyAPassed">Pairs where only A passed.</param>
/// <param name="OnlyBPassed">Pairs where only B passed.</param>
/// <param name="PValue">Two-sided exact p-value.</param>
[GenerateSerializer, Immutable, Alias("evalmesh.format-comparison")]
public sealed record FormatPair(
    [property: Id(0)] string Suite,
    [property: Id(1)] string Endpoint,
    [property: Id(2)] string FormatA,
    [property: Id(3)] string FormatB,
    [property: Id(4)] int OnlyAPassed,
    [property: Id(5)] int OnlyBPassed,
    [property: Id(6)] double PValue);

/// <summary>The format to use for a suite on an endpoint: fewest tokens among those not significantly worse than the best.</summary>
/// <param name="Suite">The suite.</param>
/// <param name="Endpoint">The endpoint.</param>
/// <param name="Tokenizer">The tokenizer whose counts decided cost.</param>
/// <param name="Format">The recommended format.</param>
/// <param name="Best">The most accurate format.</param>
/// <param name="Reason">Why.</param>
[GenerateSerializer, Immutable, Alias("evalmesh.recommendation")]
public sealed record Recommendation(
    [property: Id(0)] string Suite,
    [property: Id(1)] string Endpoint,
    [property: Id(2)] string Tokenizer,
    [property: Id(3)] string? Format,
    [property: Id(4)] string? Best,
    [property: Id(5)] string Reason);

/// <summary>A run's report: the matrix with intervals, token costs and latencies, categories, comparisons and recommendations.</summary>
/// <param name="Run">The run's status.</param>
/// <param name="Rows">One row per (suite, format, endpoint).</param>
/// <param name="Categories">Accuracy per category.</param>
/// <param name="Comparisons">Paired McNemar tests between formats.</param>
/// <param name="Recommendations">The recommended format per suite and endpoint.</param>
/// <param name="Notes">Things a reader must know, such as "this is a smoke model".</param>
/// <param name="Settings">How the run asked, so that its figures can be reproduced.</param>
[GenerateSerializer, Immutable, Alias("evalmesh.run-report")]
public sealed record RunReport(
    [property: Id(0)] RunStatus Run,
    [property: Id(1)] IReadOnlyList<ReportRow> Rows,
    [property: Id(2)] IReadOnlyList<CategoryRow> Categories,
    [property: Id(3)] IReadOnlyList<FormatPair> Comparisons,
    [property: Id(4)] IReadOnlyList<Recommendation> Recommendations,
    [property: Id(5)] IReadOnlyList<string> Notes,
    [property: Id(6)] RunSettings? Settings = null);

/// <summary>How a run asked: its repeats, case limit and each endpoint's model and generation settings (never a key).</summary>
/// <param name="Repeats">Repeats per cell; a sampled cell's seed is its repeat.</param>
/// <param name="CaseLimit">When set, each suite ran only its first this many cases.</param>
/// <param name="Endpoints">The endpoints, in the config's order.</param>
[GenerateSerializer, Immutable, Alias("evalmesh.run-settings")]
public sealed record RunSettings(
    [property: Id(0)] int Repeats,
    [property: Id(1)] int? CaseLimit,
    [property: Id(2)] IReadOnlyList<EndpointSettings> Endpoints);

/// <summary>One endpoint's model and generation settings.</summary>
/// <param name="Name">The endpoint's name.</param>
/// <param name="Type"><c>llama</c>, <c>openai</c> or <c>echo</c>.</param>
/// <param name="Model">The model (a GGUF file, <c>tiny</c>, or the name asked of an OpenAI-compatible server).</param>
/// <param name="Adapter">The LoRA adapter, if any.</param>
/// <param name="BaseUrl">An OpenAI-compatible server's base URL.</param>
/// <param name="MaxTokens">The most tokens generated.</param>
/// <param name="Temperature">Sampling temperature; 0 is greedy.</param>
/// <param name="TopP">Nucleus sampling's top-p; 1 is the whole distribution.</param>
[GenerateSerializer, Immutable, Alias("evalmesh.endpoint-settings")]
public sealed record EndpointSettings(
    [property: Id(0)] string Name,
    [property: Id(1)] string Type,
    [property: Id(2)] string? Model,
    [property: Id(3)] string? Adapter,
    [property: Id(4)] string? BaseUrl,
    [property: Id(5)] int MaxTokens,
    [property: Id(6)] double Temperature,
    [property: Id(7)] double TopP);

/// <summary>The part of a run's prompts that every cell of one suite and format shares: the template up to and including the rendered context.</summary>
/// <param name="Suite">The suite.</param>
/// <param name="Format">The format the context is rendered in.</param>
/// <param name="Head">The shared text; a cell's whole prompt is this followed by its <see cref="CellResult.PromptTail"/>.</param>
[GenerateSerializer, Immutable, Alias("evalmesh.prompt-head")]
public sealed record PromptHead(
    [property: Id(0)] string Suite,
    [property: Id(1)] string Format,
    [property: Id(2)] string Head);
