using EvalMesh.Abstractions;
using EvalMesh.Contracts;
using EvalMesh.Evaluation;
using EvalMesh.Evaluation.Configuration;
using EvalMesh.Evaluation.Suites;
using EvalMesh.Evaluation.Tokenization;

namespace EvalMesh.Client;

/// <summary>Where a generation is: its stage (such as <c>propose, round 1</c> or <c>check</c>) and the run doing it.</summary>
/// <param name="Stage">What the run asks the model.</param>
/// <param name="Run">The run's progress.</param>
public sealed record GenerationProgress(string Stage, RunStatus Run);

/// <summary>The run that asked, and each case's cell by case id.</summary>
/// <param name="RunId">The run.</param>
/// <param name="Cells">Its cells by case id.</param>
internal sealed record ModelAnswers(string RunId, IReadOnlyDictionary<string, CellResult> Cells);

/// <summary>
/// Asks an endpoint questions over a dataset file as a run: the cluster fans the calls out as it does any run, with
/// the endpoint's concurrency, retries, rate limits and response cache, and the run's progress and metrics.
/// Generators use it for what they have a model write.
/// </summary>
internal static class ModelQuestions
{
    /// <summary>
    /// Runs <paramref name="questions"/> over the records of <paramref name="dataset"/>; an error blames
    /// <paramref name="setting"/>, the setting that named the endpoint (such as <c>--with</c>).
    /// </summary>
    /// <exception cref="EvalMeshInputException">The run failed, or the endpoint answered none of the questions (its name and the first error).</exception>
    public static async Task<ModelAnswers> AskAsync(
        IEvalMeshClient client,
        string stage,
        string dataset,
        IReadOnlyList<TestCase> questions,
        string prompt,
        EndpointConfig endpoint,
        string setting,
        IReadOnlyList<AdapterConfig> adapters,
        IProgress<GenerationProgress>? progress,
        CancellationToken cancellationToken)
    {
        var config = new EvalConfig(
            dataset,
            $"generate: {stage}",
            [new DatasetConfig("records", dataset, null)],
            [new SuiteConfig("questions", "records", null, false, questions)],
            ["oneline-json"],
            [TokenizerRegistry.O200kBase],
            [endpoint],
            adapters,
            prompt,
            Repeats: 1,
            Concurrency: Math.Min(endpoint.MaxConcurrency, 16));
        var status = await client.StartRunAsync(config, cancellationToken: cancellationToken).ConfigureAwait(false);
        await foreach (var update in client.WatchRunAsync(status.RunId, TimeSpan.FromMilliseconds(250), cancellationToken).ConfigureAwait(false))
        {
            status = update;
            progress?.Report(new GenerationProgress(stage, status));
        }

        if (status.State != RunState.Completed)
        {
            throw new EvalMeshInputException($"run '{status.RunId}' ({stage}) {status.State.ToString().ToLowerInvariant()}: {status.Message}", setting: setting);
        }

        var cells = new Dictionary<string, CellResult>(StringComparer.Ordinal);
        await foreach (var cell in client.GetResultsAsync(status.RunId, cancellationToken).ConfigureAwait(false))
        {
            cells[cell.CaseId] = cell;
        }

        if (cells.Count > 0 && cells.Values.All(c => c.Outcome == CellOutcome.Error))
        {
            var first = cells.Values.OrderBy(c => c.CaseId, StringComparer.Ordinal).First();
            var where = endpoint.BaseUrl is { } url ? $" at {url}" : string.Empty;
            throw new EvalMeshInputException($"endpoint '{endpoint.Name}'{where} answered none of {cells.Count} call(s) ({stage}): {first.Reason}", setting: setting);
        }

        return new ModelAnswers(status.RunId, cells);
    }
}
