using System.Globalization;
using EvalMesh.Abstractions;
using EvalMesh.Contracts;
using EvalMesh.Evaluation.Datasets;
using EvalMesh.Evaluation.Generation;
using EvalMesh.Evaluation.Suites;

namespace EvalMesh.Client;

/// <summary>A message whose text stayed the generator's draft, and why.</summary>
/// <param name="Message">The message's number (1-based).</param>
/// <param name="Reason">Why the model's text was not used: the endpoint's error, or what is wrong with the reply (<see cref="MessageTexts.Read"/>).</param>
public sealed record DraftKept(int Message, string Reason);

/// <summary>A Slack-style dataset whose texts a model wrote, its suite, and the messages that kept their drafts.</summary>
/// <param name="Dataset">The messages and the questions computed from them.</param>
/// <param name="Drafts">The messages whose model text could not be used.</param>
/// <param name="Run">The run that asked the model.</param>
public sealed record MessageGenerationResult(SlackDataset Dataset, IReadOnlyList<DraftKept> Drafts, string Run)
{
    /// <summary>Messages whose text the model wrote.</summary>
    public int Written => Dataset.Messages.Count - Drafts.Count;
}

/// <summary>
/// The seed's data, built by a model: the generator lays out users, channels, timestamps, threads, reactions and
/// permalinks, a model writes each message's text from the generator's draft (one run over the cluster, see
/// <see cref="ModelQuestions"/>), and the questions are computed from the messages that result.
/// </summary>
public static class MessageGeneration
{
    /// <summary>Generates the dataset with <paramref name="endpoint"/> writing the texts.</summary>
    /// <exception cref="Evaluation.EvalMeshInputException">The endpoint cannot be reached (it answered no message).</exception>
    public static async Task<MessageGenerationResult> RunAsync(IEvalMeshClient client, SlackGeneratorOptions options, EndpointConfig endpoint, IReadOnlyList<AdapterConfig> adapters, IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        var drafts = SlackGenerator.Generate(options).Messages;
        var folder = Directory.CreateTempSubdirectory("evalmesh-generate-");
        try
        {
            var file = Path.Combine(folder.FullName, "drafts.jsonl");
            await File.WriteAllTextAsync(file, JsonLines.Write(drafts), cancellationToken).ConfigureAwait(false);
            List<TestCase> calls = [.. drafts.Select((m, i) => new TestCase(Id(i), MessageTexts.Instruction(m), ["x"], new("contains"), [], MessageTexts.Records(drafts, i)))];
            var answers = await ModelQuestions.AskAsync(client, "write messages", file, calls, MessageTexts.Prompt, endpoint, "--with", adapters, progress, cancellationToken).ConfigureAwait(false);
            var texts = new List<string>(drafts.Count);
            var kept = new List<DraftKept>();
            foreach (var (index, draft) in drafts.Index())
            {
                var cell = answers.Cells[Id(index)];
                var (text, problem) = cell.Outcome == CellOutcome.Error ? (null, cell.Reason) : MessageTexts.Read(cell.Output);
                if (text is null)
                {
                    kept.Add(new DraftKept(index + 1, cell.Outcome == CellOutcome.Error ? cell.Reason : $"{problem}: '{Evaluation.EvalMeshInputException.Shown(cell.Output)}'"));
                }

                texts.Add(text ?? draft["text"]!.GetValue<string>());
            }

            return new MessageGenerationResult(SlackGenerator.Generate(options, texts), kept, answers.RunId);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static string Id(int index) => string.Create(CultureInfo.InvariantCulture, $"message-{index + 1:D4}");
}
