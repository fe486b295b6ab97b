using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using EvalMesh.Abstractions;
using EvalMesh.Contracts;

namespace EvalMesh.Client;

/// <summary>
/// Writes a run's report as JSON (for programs), CSV (for spreadsheets), Markdown (for pull-request comments), one
/// self-contained HTML page (for people; the document's cells, at most <see cref="HtmlPages.MaxCells"/>) or JUnit XML
/// (for CI systems; every cell, read from the run's results as it is written, so that memory does not grow with the run).
/// </summary>
public static class ReportWriter
{
    /// <summary>The formats <see cref="WriteAsync"/> knows.</summary>
    public static IReadOnlyList<string> Formats { get; } = ["json", "csv", "md", "html", "junit"];

    /// <summary>The JSON settings of reports and REST answers: camelCase, enums as text, non-ASCII kept readable.</summary>
    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <summary>The same settings on one line, for JSON lines (one cell result per line).</summary>
    public static JsonSerializerOptions JsonLine { get; } = new(Json) { WriteIndented = false };

    /// <summary>The file a format is written to by <c>evalmesh run</c>: report.json … report.junit.xml.</summary>
    public static string FileName(string format) => format == "junit" ? "report.junit.xml" : $"report.{format}";

    /// <summary>Whether a format shows the document's cells, so that it must be loaded with them.</summary>
    public static bool ShowsDocumentCells(string format) => format == "html";

    /// <summary>Writes the report of <paramref name="document"/>'s run in a format, as UTF-8.</summary>
    /// <exception cref="Evaluation.UnknownNameException">The format is not one of <see cref="Formats"/>.</exception>
    public static async Task WriteAsync(IEvalMeshClient client, ReportDocument document, string format, Stream output, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(document);
        switch (format)
        {
            case "junit":
                await JUnitReport.WriteAsync(client, document.Report.Run.RunId, output, cancellationToken).ConfigureAwait(false);
                return;
            case "html":
                await HtmlPages.WriteReportAsync(document, output, cancellationToken).ConfigureAwait(false);
                return;
        }

        var text = format switch
        {
            "json" => JsonSerializer.Serialize(document.Report, Json),
            "csv" => Csv(document.Report),
            "md" => Markdown(document.Report),
            _ => throw new Evaluation.UnknownNameException("report format", format, Formats),
        };
        await output.WriteAsync(new UTF8Encoding(false).GetBytes(text), cancellationToken).ConfigureAwait(false);
    }

    private static string Csv(RunReport report)
    {
        var tokenizers = Tokenizers(report);
        var text = new StringBuilder("suite,format,endpoint,cells,passed,failed,errors,accuracy,accuracy_lower,accuracy_upper,cases,cases_only_errors,unstable_share,");
        text.AppendJoin(',', tokenizers.Select(t => $"mean_prompt_tokens_{t}")).Append(",mean_completion_tokens,cost,mean_cost,latency_p50_ms,latency_p95_ms\r\n");
        foreach (var row in report.Rows)
        {
            text.Append(CultureInfo.InvariantCulture, $"{Cell(row.Suite)},{Cell(row.Format)},{Cell(row.Endpoint)},{row.Cells},{row.Passed},{row.Failed},{row.Errors},{row.Accuracy:0.####},{row.AccuracyLower:0.####},{row.AccuracyUpper:0.####},{row.Cases},{row.CasesOnlyErrors},{row.UnstableShare:0.####},");
            text.AppendJoin(',', tokenizers.Select(t => row.MeanPromptTokens.TryGetValue(t, out var v) ? v.ToString("0.#", CultureInfo.InvariantCulture) : string.Empty));
            text.Append(CultureInfo.InvariantCulture, $",{row.MeanCompletionTokens?.ToString("0.#", CultureInfo.InvariantCulture)},{row.Cost?.ToString("R", CultureInfo.InvariantCulture)},{row.MeanCost?.ToString("R", CultureInfo.InvariantCulture)},{row.LatencyP50Ms:0.##},{row.LatencyP95Ms:0.##}\r\n");
        }

        return text.ToString();
    }

    private static string Markdown(RunReport report)
    {
        var run = report.Run;
        var tokenizers = Tokenizers(report);
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"# EvalMesh run {run.RunId}\n\n");
        if (run.Description is { Length: > 0 } description)
        {
            text.Append(description).Append("\n\n");
        }

        text.Append(CultureInfo.InvariantCulture, $"{run.State}: {run.Completed} of {run.Total} cells, {run.Passed} passed, {run.Failed} failed, {run.Errors} errors.");
        text.Append(report.Cost is { } total ? $" Cost: {Money(total)} at each endpoint's price.\n\n" : "\n\n");
        foreach (var note in report.Notes)
        {
            text.Append("> **Note:** ").Append(note).Append("\n\n");
        }

        var priced = report.Rows.Any(r => r.Cost is not null);
        text.Append("| suite | endpoint | format | accuracy (95% CI) | cases | unstable | ").AppendJoin(" | ", tokenizers.Select(t => $"{t} tokens")).Append(priced ? " | cost | cost per cell" : string.Empty).Append(" | p50 ms | p95 ms | errors |\n");
        text.Append("|---|---|---|---:|---:|---:|").AppendJoin(string.Empty, tokenizers.Select(_ => "---:|")).Append(priced ? "---:|---:|" : string.Empty).Append("---:|---:|---:|\n");
        foreach (var row in report.Rows)
        {
            text.Append(CultureInfo.InvariantCulture, $"| {row.Suite} | {row.Endpoint} | {row.Format} | {Accuracy(row)} | {row.Cases} | {Stability(row)} | ");
            text.AppendJoin(" | ", tokenizers.Select(t => row.MeanPromptTokens.TryGetValue(t, out var v) ? v.ToString("N0", CultureInfo.InvariantCulture) : "–"));
            text.Append(priced ? $" | {Money(row.Cost)} | {Money(row.MeanCost)}" : string.Empty);
            text.Append(CultureInfo.InvariantCulture, $" | {row.LatencyP50Ms:0.#} | {row.LatencyP95Ms:0.#} | {row.Errors} |\n");
        }

        text.Append("\nAccuracy is the mean over cases of each case's pass rate across its repeats; its 95% interval is clustered by case. 'unstable' is the share of cases whose outcome differs between repeats.");
        text.Append(priced ? " Cost is at each endpoint's price per million tokens, from the tokens the endpoint itself counted per cell (a cached answer priced as if asked).\n" : "\n");
        if (report.Recommendations.Count > 0)
        {
            text.Append("\n## Recommended format\n\n").Append(Rule(report)).Append("\n\n");
            foreach (var r in report.Recommendations)
            {
                text.Append(CultureInfo.InvariantCulture, $"- **{r.Endpoint}** ({r.Suite}): **{Choice(r)}**{(r.Format is null ? string.Empty : $" ({Verdict(r.Verdict)})")}. {r.Reason}.\n");
            }

            text.Append("\n| suite | endpoint | format | tokens | accuracy | vs most accurate (95% CI) | p | standing |\n|---|---|---|---:|---:|---:|---:|---|\n");
            foreach (var r in report.Recommendations)
            {
                foreach (var f in r.Formats ?? [])
                {
                    text.Append(CultureInfo.InvariantCulture, $"| {r.Suite} | {r.Endpoint} | {f.Format} | {f.MeanPromptTokens:N0} | {f.Accuracy:0.0%} | {Difference(f)} | {f.PValue?.ToString("0.####", CultureInfo.InvariantCulture) ?? "–"} | {Standing(f.Standing)} |\n");
                }
            }
        }

        if (report.Categories.Count > 0)
        {
            text.Append("\n## Accuracy by category\n\n| endpoint | format | category | passed | scored |\n|---|---|---|---:|---:|\n");
            foreach (var c in report.Categories)
            {
                text.Append(CultureInfo.InvariantCulture, $"| {c.Endpoint} | {c.Format} | {c.Category} | {c.Passed} | {c.Scored} |\n");
            }
        }

        if (report.Settings is { } settings)
        {
            text.Append(CultureInfo.InvariantCulture, $"\n## Settings\n\n{settings.Repeats} repeat(s) per cell (a sampled cell's seed is its repeat){(settings.CaseLimit is { } limit ? $"; only the first {limit} case(s) of each suite" : string.Empty)}.\n\n");
            text.Append("| endpoint | type | model | adapter | max tokens | temperature | top-p | price per M tokens (in / out) | rate limit |\n|---|---|---|---|---:|---:|---:|---:|---|\n");
            foreach (var e in settings.Endpoints)
            {
                text.Append(CultureInfo.InvariantCulture, $"| {e.Name} | {e.Type} | {e.Model ?? "–"}{(e.BaseUrl is { } url ? $" at {url}" : string.Empty)} | {e.Adapter ?? "–"} | {e.MaxTokens} | {e.Temperature:0.###} | {e.TopP:0.######} | {Price(e.Cost)} | {Limits(e.RateLimit)} |\n");
            }
        }

        return text.ToString();
    }

    /// <summary>Accuracy as "62.5% (48.1–75.0)".</summary>
    public static string Accuracy(ReportRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        return row.Passed + row.Failed == 0
            ? "–"
            : string.Create(CultureInfo.InvariantCulture, $"{row.Accuracy * 100:0.0}% ({row.AccuracyLower * 100:0.0}–{row.AccuracyUpper * 100:0.0})");
    }

    /// <summary>The share of cases whose outcome differs between repeats, as "12.5%", or "–" with one repeat.</summary>
    public static string Stability(ReportRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        return row.UnstableShare is { } share ? share.ToString("0.0%", CultureInfo.InvariantCulture) : "–";
    }

    /// <summary>The recommended format, or "inconclusive".</summary>
    public static string Choice(Recommendation recommendation)
    {
        ArgumentNullException.ThrowIfNull(recommendation);
        return recommendation.Format ?? "inconclusive";
    }

    /// <summary>What a recommendation rests on, in a few words.</summary>
    public static string Verdict(RecommendationVerdict verdict) => verdict switch
    {
        RecommendationVerdict.NonInferior => "shown within the margin of the most accurate",
        RecommendationVerdict.CheaperFormatsWorse => "every cheaper format shown worse",
        RecommendationVerdict.BestIsCheapest => "most accurate, cheapest, and shown within the margin of the others",
        RecommendationVerdict.OnlyFormat => "the only format",
        _ => "no answer yet",
    };

    /// <summary>How the recommendation decides, with the run's margin and level.</summary>
    public static string Rule(RunReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var settings = report.Settings?.Recommend ?? RecommendSettings.Default;
        return string.Create(CultureInfo.InvariantCulture, $"The cheapest format whose paired per-case difference from the most accurate format has its one-sided {1 - settings.Alpha:0.##%} lower bound above -{settings.Margin * 100:0.##} points (Holm over the cheaper formats); inconclusive when none is, unless every cheaper format is shown worse by more than the margin. Never a format at 0%.");
    }

    /// <summary>A format's paired difference from the most accurate one as "-1.5 (-6.0 to +3.0) points", or "–".</summary>
    public static string Difference(FormatStandingRow standing)
    {
        ArgumentNullException.ThrowIfNull(standing);
        return standing is { Difference: { } d, DifferenceLower: { } lower, DifferenceUpper: { } upper }
            ? string.Create(CultureInfo.InvariantCulture, $"{Points(d)} ({Points(lower)} to {Points(upper)}) points")
            : "–";
    }

    /// <summary>A standing in a word or two.</summary>
    public static string Standing(FormatStanding standing) => standing switch
    {
        FormatStanding.Best => "most accurate",
        FormatStanding.NonInferior => "within the margin",
        FormatStanding.Inferior => "worse by more than the margin",
        FormatStanding.Undecided => "undecided",
        _ => "not cheaper",
    };

    /// <summary>An amount in the prices' currency, as "0.0125", or "–".</summary>
    public static string Money(double? value) => value?.ToString("0.######", CultureInfo.InvariantCulture) ?? "–";

    /// <summary>A price per million tokens as "2.5 / 10", or "–".</summary>
    public static string Price(EndpointPrice? price) =>
        price is null ? "–" : string.Create(CultureInfo.InvariantCulture, $"{price.InputPerMTok:0.######} / {price.OutputPerMTok:0.######}");

    /// <summary>A rate limit as "600 requests/min, 8 at once", or "–".</summary>
    public static string Limits(RateLimit? limit) =>
        limit is null ? "–" : string.Join(", ", new[]
        {
            limit.RequestsPerMinute is { } requests ? string.Create(CultureInfo.InvariantCulture, $"{requests:N0} requests/min") : null,
            limit.TokensPerMinute is { } tokens ? string.Create(CultureInfo.InvariantCulture, $"{tokens:N0} tokens/min") : null,
            limit.MaxConcurrency is { } concurrency ? string.Create(CultureInfo.InvariantCulture, $"{concurrency} at once") : null,
        }.OfType<string>());

    private static string Points(double value) => (value * 100).ToString("+0.0;-0.0;0.0", CultureInfo.InvariantCulture);

    /// <summary>Every tokenizer that appears in the report's rows, in a stable order.</summary>
    public static IReadOnlyList<string> Tokenizers(RunReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return [.. report.Rows.SelectMany(r => r.MeanPromptTokens.Keys).Distinct().Order(StringComparer.Ordinal)];
    }

    private static string Cell(string value) => value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? $"\"{value.Replace("\"", "\"\"", StringComparison.Ordinal)}\"" : value;
}
