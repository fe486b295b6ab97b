using System.Globalization;
using EvalMesh.Abstractions;

namespace EvalMesh.Client;

/// <summary>
/// Everything a report page or a JUnit file shows of a run: the report, the shared prompt heads and the cells, each
/// output cut to <see cref="MaxOutputChars"/> (an echo endpoint's output is its whole prompt).
/// </summary>
/// <param name="Report">The run's report.</param>
/// <param name="Prompts">The shared head of the prompts per suite and format.</param>
/// <param name="Cells">The first cells in the result store's order; at most the limit it was loaded with.</param>
/// <param name="CellsTotal">The cells the run has stored; more than <see cref="Cells"/> holds when the limit cut them.</param>
public sealed record ReportDocument(RunReport Report, IReadOnlyList<PromptHead> Prompts, IReadOnlyList<CellResult> Cells, int CellsTotal)
{
    /// <summary>The most characters of a cell's output a document holds.</summary>
    public const int MaxOutputChars = 2_000;

    /// <summary>
    /// Loads a run's document: its report, and its prompt heads and up to <paramref name="maxCells"/> cells (by default
    /// as many as a page shows) when that is above zero.
    /// </summary>
    /// <exception cref="RunNotFoundException">There is no such run.</exception>
    public static async Task<ReportDocument> LoadAsync(IEvalMeshClient client, string runId, int maxCells = HtmlPages.MaxCells, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var report = await client.GetReportAsync(runId, cancellationToken).ConfigureAwait(false);
        if (maxCells <= 0)
        {
            return new ReportDocument(report, [], [], report.Run.Completed);
        }

        // The cells past the limit are not read: the report already counts them.
        var prompts = await client.GetPromptHeadsAsync(runId, cancellationToken).ConfigureAwait(false);
        var cells = new List<CellResult>();
        await foreach (var cell in client.GetResultsAsync(runId, cancellationToken).ConfigureAwait(false))
        {
            cells.Add(Cut(cell));
            if (cells.Count == maxCells)
            {
                break;
            }
        }

        return new ReportDocument(report, prompts, cells, Math.Max(report.Run.Completed, cells.Count));
    }

    /// <summary>The cell with its output cut to <see cref="MaxOutputChars"/>, saying how much was left out.</summary>
    internal static CellResult Cut(CellResult cell) => cell.Output.Length <= MaxOutputChars
        ? cell
        : cell with { Output = string.Create(CultureInfo.InvariantCulture, $"{cell.Output[..MaxOutputChars]}… ({cell.Output.Length - MaxOutputChars:N0} more characters)") };
}
