using System.Globalization;
using EvalMesh.Client;
using Spectre.Console;

namespace EvalMesh.Cli;

/// <summary>Prints comparison rows (<c>compare</c>, and <c>finetune</c>'s held-out verdict) as a table and a one-line tally.</summary>
internal static class ComparisonTable
{
    public static void Print(IReadOnlyList<ComparisonRow> rows, double alpha, string baseline = "baseline", string candidate = "candidate")
    {
        var confidence = (1 - alpha).ToString("0.##%", CultureInfo.InvariantCulture);
        var table = new Table().AddColumn("suite").AddColumn("endpoint").AddColumn("format").AddColumn(new TableColumn("paired\ncases").RightAligned())
            .AddColumn(new TableColumn(Markup.Escape(baseline)).RightAligned()).AddColumn(new TableColumn(Markup.Escape(candidate)).RightAligned())
            .AddColumn(new TableColumn($"difference\n({Markup.Escape(confidence)} CI)").RightAligned())
            .AddColumn(new TableColumn($"{Markup.Escape(baseline)}\nbetter").RightAligned()).AddColumn(new TableColumn($"{Markup.Escape(candidate)}\nbetter").RightAligned())
            .AddColumn(new TableColumn("p").RightAligned()).AddColumn("verdict");
        foreach (var row in rows)
        {
            table.AddRow(
                Markup.Escape(row.Suite), Markup.Escape(row.Endpoint), Markup.Escape(row.Format), Number(row.Paired),
                Percent(row.BaselineAccuracy), Percent(row.CandidateAccuracy), Difference(row.Difference, row.DifferenceLower, row.DifferenceUpper),
                Number(row.BaselineBetter), Number(row.CandidateBetter),
                row.PValue.ToString("0.####", CultureInfo.InvariantCulture),
                row.Verdict switch
                {
                    ComparisonVerdict.Regressed => "[red]regressed[/]",
                    ComparisonVerdict.Improved => "[green]improved[/]",
                    ComparisonVerdict.NotComparable => "not comparable",
                    _ => "same",
                });
        }

        AnsiConsole.Write(table);
        Console.WriteLine($"{rows.Count(r => r.Verdict == ComparisonVerdict.Regressed)} regressed, {rows.Count(r => r.Verdict == ComparisonVerdict.Improved)} improved, {rows.Count(r => r.Verdict == ComparisonVerdict.Same)} the same, {rows.Count(r => r.Verdict == ComparisonVerdict.NotComparable)} not comparable (paired by case, repeats averaged; alpha {alpha.ToString(CultureInfo.InvariantCulture)})");
    }

    private static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Percent(double value) => value.ToString("0.0%", CultureInfo.InvariantCulture);

    private static string Points(double value) => (value * 100).ToString("+0.0;-0.0;0.0", CultureInfo.InvariantCulture);

    private static string Difference(double value, double lower, double upper) => $"{Points(value)} ({Points(lower)} to {Points(upper)})";
}
