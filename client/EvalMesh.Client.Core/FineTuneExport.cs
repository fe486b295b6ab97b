using System.Text.Json;
using EvalMesh.Abstractions;
using EvalMesh.Evaluation.Scoring;

namespace EvalMesh.Client;

/// <summary>Which cells <see cref="FineTuneExport"/> turns into training examples.</summary>
/// <param name="FailedOnly">Only cells whose answer the scorer failed (what the model got wrong).</param>
/// <param name="Endpoint">Only this endpoint's cells, when given.</param>
/// <param name="Cases">Only these cases, when given (such as the training side of a held-out split).</param>
public sealed record FineTuneSelection(bool FailedOnly = false, string? Endpoint = null, IReadOnlySet<CaseKey>? Cases = null);

/// <summary>A case of a run: its suite and its id within the suite.</summary>
/// <param name="Suite">The suite's name.</param>
/// <param name="CaseId">The case's id.</param>
public readonly record struct CaseKey(string Suite, string CaseId);

/// <summary>What an export wrote.</summary>
/// <param name="Examples">Lines written: one per distinct prompt among the chosen cells.</param>
/// <param name="Cells">Cells chosen.</param>
/// <param name="WithoutReference">Chosen prompts left out because their scorer has no reference answer.</param>
/// <param name="ScorersWithoutReference">Those prompts' scorers (regex, json-schema), in the order met.</param>
public sealed record FineTuneSummary(int Examples, int Cells, int WithoutReference, IReadOnlyList<string> ScorersWithoutReference);

/// <summary>
/// The continuous-learning loop: a run's cells as JSON lines in the OpenAI chat fine-tuning format, each pairing the
/// prompt the model was given (after the run's system message, if it has one) with the <em>expected</em> answer, so the
/// next adapter can be trained on what the current one got wrong. Repeats and endpoints that saw the same prompt give
/// one example.
/// </summary>
public static class FineTuneExport
{
    /// <summary>Writes the examples of a run's chosen cells to <paramref name="output"/>.</summary>
    /// <exception cref="RunNotFoundException">There is no such run.</exception>
    public static async Task<FineTuneSummary> WriteAsync(IEvalMeshClient client, string runId, FineTuneSelection selection, TextWriter output, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(selection);
        ArgumentNullException.ThrowIfNull(output);
        var system = (await client.GetRunSpecAsync(runId, cancellationToken).ConfigureAwait(false)).System;
        var heads = (await client.GetPromptHeadsAsync(runId, cancellationToken).ConfigureAwait(false)).ToDictionary(h => (h.Suite, h.Format), h => h.Head);
        var written = new HashSet<(string Suite, string CaseId, string Format)>();
        var scorersWithoutReference = new List<string>();
        int examples = 0, cells = 0, withoutReference = 0;
        await foreach (var cell in client.GetResultsAsync(runId, cancellationToken).ConfigureAwait(false))
        {
            if ((selection.FailedOnly && cell.Outcome != CellOutcome.Failed)
                || (selection.Endpoint is { } endpoint && cell.Endpoint != endpoint)
                || (selection.Cases is { } cases && !cases.Contains(new CaseKey(cell.Suite, cell.CaseId))))
            {
                continue;
            }

            cells++;
            if (!written.Add((cell.Suite, cell.CaseId, cell.Format)))
            {
                continue;
            }

            if (ScorerFactory.ReferenceAnswer(cell.Scorer, cell.Expected) is not { } answer)
            {
                withoutReference++;
                if (!scorersWithoutReference.Contains(cell.Scorer))
                {
                    scorersWithoutReference.Add(cell.Scorer);
                }

                continue;
            }

            var prompt = heads.GetValueOrDefault((cell.Suite, cell.Format), string.Empty) + cell.PromptTail;
            List<ChatLine> messages = system is null ? [] : [new("system", system)];
            messages.Add(new("user", prompt));
            messages.Add(new("assistant", answer));
            var example = new { messages };
            await output.WriteLineAsync(JsonSerializer.Serialize(example, ReportWriter.JsonLine).AsMemory(), cancellationToken).ConfigureAwait(false);
            examples++;
        }

        return new FineTuneSummary(examples, cells, withoutReference, scorersWithoutReference);
    }

    private sealed record ChatLine(string Role, string Content);
}
