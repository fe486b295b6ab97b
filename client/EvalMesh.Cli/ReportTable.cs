using System.Globalization;
using EvalMesh.Abstractions;
using EvalMesh.Client;
using Spectre.Console;

namespace EvalMesh.Cli;

/// <summary>Prints a run's results as a person reads them: the matrix table (accuracy per case, and with repeats the share of unstable cases), the recommendation or "inconclusive", and the notes.</summary>
internal static class ReportTable
{
    public static void Print(RunReport report)
    {
        var run = report.Run;
        var tokenizers = ReportWriter.Tokenizers(report);
        var table = new Table()
            .Title($"run {run.RunId}: {run.State.ToString().ToLowerInvariant()}, {run.Completed}/{run.Total} cells, {run.Passed} passed, {run.Failed} failed, {run.Errors} errors{(report.Cost is { } cost ? $", cost {ReportWriter.Money(cost)}" : string.Empty)}")
            .AddColumn("endpoint").AddColumn("format").AddColumn(new TableColumn("accuracy (95% CI)").RightAligned()).AddColumn(new TableColumn("cases").RightAligned());
        var repeats = report.Rows.Any(r => r.UnstableShare is not null);
        if (repeats)
        {
            table.AddColumn(new TableColumn("unstable").RightAligned());
        }

        foreach (var tokenizer in tokenizers)
        {
            table.AddColumn(new TableColumn($"{tokenizer}\ntokens").RightAligned());
        }

        var priced = report.Rows.Any(r => r.Cost is not null);
        if (priced)
        {
            table.AddColumn(new TableColumn("cost").RightAligned());
        }

        table.AddColumn(new TableColumn("p50 ms").RightAligned()).AddColumn(new TableColumn("p95 ms").RightAligned()).AddColumn(new TableColumn("errors").RightAligned());
        foreach (var row in report.Rows)
        {
            var cells = new List<string> { row.Endpoint, row.Format, ReportWriter.Accuracy(row), row.Cases.ToString(CultureInfo.InvariantCulture) };
            if (repeats)
            {
                cells.Add(ReportWriter.Stability(row));
            }

            cells.AddRange(tokenizers.Select(t => row.MeanPromptTokens.TryGetValue(t, out var v) ? v.ToString("N0", CultureInfo.InvariantCulture) : "–"));
            if (priced)
            {
                cells.Add(ReportWriter.Money(row.Cost));
            }

            cells.Add(row.LatencyP50Ms.ToString("0.#", CultureInfo.InvariantCulture));
            cells.Add(row.LatencyP95Ms.ToString("0.#", CultureInfo.InvariantCulture));
            cells.Add(row.Errors.ToString(CultureInfo.InvariantCulture));
            table.AddRow([.. cells.Select(Markup.Escape)]);
        }

        AnsiConsole.Write(table);
        foreach (var recommendation in report.Recommendations)
        {
            var colour = recommendation.Format is null ? "yellow" : "green";
            AnsiConsole.MarkupLine($"recommended format for [bold]{Markup.Escape(recommendation.Endpoint)}[/]: [bold {colour}]{Markup.Escape(ReportWriter.Choice(recommendation))}[/] — {Markup.Escape(recommendation.Reason)}");
        }

        foreach (var note in report.Notes)
        {
            AnsiConsole.MarkupLine($"[yellow]note:[/] {Markup.Escape(note)}");
        }
    }
}
