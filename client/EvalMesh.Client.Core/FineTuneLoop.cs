using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using EvalMesh.Abstractions;
using EvalMesh.Contracts;
using EvalMesh.Evaluation;

namespace EvalMesh.Client;

/// <summary>How <see cref="FineTuneLoop"/> closes the loop for one endpoint of a run.</summary>
/// <param name="Endpoint">The run's llama endpoint whose failures train the adapter.</param>
public sealed record FineTuneOptions(string Endpoint)
{
    /// <summary>The adapter's name, registered as <c>model:name</c> (default <c>ft-RUN</c>).</summary>
    public string? AdapterName { get; init; }

    /// <summary>The share of the run's cases held out: never trained on, and the only cases the verdict is taken on.</summary>
    public double Holdout { get; init; } = 0.3;

    /// <summary>Train on the training cases' passes as well as their failures, as anchors against forgetting.</summary>
    public bool Anchors { get; init; }

    /// <summary>How the adapter is trained; its seed also seeds the held-out split.</summary>
    public TrainingSettings Training { get; init; } = new();

    /// <summary>The held-out comparison's two-sided significance level.</summary>
    public double Significance { get; init; } = 0.05;
}

/// <summary>Where a loop is: its stage, and the training job's or the evaluation run's progress.</summary>
/// <param name="Stage"><c>export</c>, <c>train</c> or <c>evaluate</c>.</param>
/// <param name="Training">The training job, while it trains.</param>
/// <param name="Run">The evaluation run, while it runs.</param>
public sealed record FineTuneProgress(string Stage, TrainingStatus? Training = null, RunStatus? Run = null);

/// <summary>What a loop did, and what the adapter gained on the cases it never saw.</summary>
/// <param name="Run">The run whose failures were learned from.</param>
/// <param name="Endpoint">Its endpoint.</param>
/// <param name="AdapterEndpoint">The endpoint added for the adapter: the same settings with the adapter.</param>
/// <param name="TrainCases">The cases trained on (their failures, and with anchors their passes).</param>
/// <param name="HeldOutCases">The cases held out: never trained on, the only ones compared.</param>
/// <param name="Examples">What the export of the training cases wrote.</param>
/// <param name="Training">The finished training job (its losses, and the registered adapter).</param>
/// <param name="EvaluationRun">The run of the same matrix with the adapter's endpoint added.</param>
/// <param name="Comparison">Per suite and format: the endpoint (baseline) against its adapter (candidate), held-out cases only.</param>
public sealed record FineTuneResult(
    string Run,
    string Endpoint,
    string AdapterEndpoint,
    IReadOnlyList<CaseKey> TrainCases,
    IReadOnlyList<CaseKey> HeldOutCases,
    FineTuneSummary Examples,
    TrainingStatus Training,
    string EvaluationRun,
    IReadOnlyList<ComparisonRow> Comparison);

/// <summary>
/// The seed's first loop, closed: split a finished run's cases into training and held-out cases (by case, so that no
/// format of a held-out case is ever trained on), export the training cases' failures of one llama endpoint, train a
/// LoRA adapter on a silo (<see cref="IEvalMeshClient.StartTrainingAsync"/>) which registers it, run the same matrix
/// with the adapter as an extra endpoint, and compare the endpoint with its adapter on the held-out cases only.
/// </summary>
public static class FineTuneLoop
{
    /// <summary>Runs the loop on <paramref name="runId"/>.</summary>
    /// <exception cref="RunNotFoundException">There is no such run.</exception>
    /// <exception cref="EvalMeshInputException">The run, endpoint or settings cannot make an adapter (which, and why).</exception>
    public static async Task<FineTuneResult> RunAsync(IEvalMeshClient client, string runId, FineTuneOptions options, IProgress<FineTuneProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Holdout is <= 0 or >= 1)
        {
            throw new EvalMeshInputException($"must be between 0 and 1 (exclusive), not {options.Holdout.ToString(CultureInfo.InvariantCulture)}", setting: "--holdout");
        }

        var status = await client.GetRunAsync(runId, cancellationToken).ConfigureAwait(false);
        if (!status.IsFinished)
        {
            throw new EvalMeshInputException($"run '{runId}' is {status.State.ToString().ToLowerInvariant()}; close its loop once it has finished", setting: "run");
        }

        var spec = await client.GetRunSpecAsync(runId, cancellationToken).ConfigureAwait(false);
        var endpoint = spec.Endpoints.FirstOrDefault(e => e.Name == options.Endpoint)
            ?? throw new UnknownNameException("endpoint", options.Endpoint, [.. spec.Endpoints.Select(e => e.Name)]);
        if (endpoint.Type != EndpointType.Llama)
        {
            throw new EvalMeshInputException($"endpoint '{endpoint.Name}' is {endpoint.Type.ToString().ToLowerInvariant()}; an adapter can only be trained for a llama endpoint's model", setting: "--endpoint");
        }

        var adapterName = options.AdapterName ?? $"ft-{runId}";
        if (adapterName.Length is 0 or > 60 || !adapterName.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
        {
            throw new EvalMeshInputException($"the adapter's name '{EvalMeshInputException.Shown(adapterName)}' must be 1 to 60 letters, digits, '.', '_' or '-' (it names the adapter, its endpoint and the evaluation run)", setting: "--register");
        }

        var adapterEndpoint = endpoint with { Name = $"{endpoint.Name}+{adapterName}", Adapter = adapterName };
        var evaluationRun = $"{runId}-{adapterName}";

        // The split is by case, over the cases the endpoint answered.
        progress?.Report(new FineTuneProgress("export"));
        var cases = new HashSet<CaseKey>();
        await foreach (var cell in client.GetResultsAsync(runId, cancellationToken).ConfigureAwait(false))
        {
            if (cell.Endpoint == endpoint.Name)
            {
                cases.Add(new CaseKey(cell.Suite, cell.CaseId));
            }
        }

        var heldOut = HeldOut(cases, options.Holdout, options.Training.Seed);
        var train = cases.Where(c => !heldOut.Contains(c)).ToHashSet();
        if (heldOut.Count == 0 || train.Count == 0)
        {
            throw new EvalMeshInputException($"run '{runId}' has {cases.Count} case(s) of endpoint '{endpoint.Name}': too few to hold out {options.Holdout.ToString("0.##", CultureInfo.InvariantCulture)} of them and train on the rest", setting: "--holdout");
        }

        var (trainingData, examples) = await ExportAsync(client, runId, new FineTuneSelection(!options.Anchors, endpoint.Name, train), cancellationToken).ConfigureAwait(false);
        if (examples.Examples == 0)
        {
            var hint = options.Anchors ? string.Empty : " (--anchors trains on their passes as well)";
            throw new EvalMeshInputException($"the {train.Count} training cases of endpoint '{endpoint.Name}' in run '{runId}' give no example with a reference answer to learn from{hint}", setting: "--endpoint");
        }

        // The held-out cases' loss is measured, never trained on; held-out cases without a reference answer give none.
        var (validationData, validation) = await ExportAsync(client, runId, new FineTuneSelection(Endpoint: endpoint.Name, Cases: heldOut), cancellationToken).ConfigureAwait(false);
        var training = await TrainAsync(client, $"{runId}.{adapterName}", new TrainingRequest(
            endpoint.Model!, adapterName, trainingData, validation.Examples > 0 ? validationData : null) { Settings = options.Training }, progress, cancellationToken).ConfigureAwait(false);

        var evaluation = spec with { Description = $"{runId} with {adapterEndpoint.Name}: the adapter trained on its failures", Endpoints = [.. spec.Endpoints, adapterEndpoint] };
        var run = await client.StartRunAsync(evaluation, evaluationRun, cancellationToken).ConfigureAwait(false);
        await foreach (var update in client.WatchRunAsync(evaluationRun, TimeSpan.FromMilliseconds(250), cancellationToken).ConfigureAwait(false))
        {
            run = update;
            progress?.Report(new FineTuneProgress("evaluate", Run: run));
        }

        if (run.State != RunState.Completed)
        {
            throw new EvalMeshInputException($"the evaluation run '{evaluationRun}' {run.State.ToString().ToLowerInvariant()}: {run.Message}", setting: "run");
        }

        IAsyncEnumerable<CellResult> HeldOutCells(string name) => client.GetResultsAsync(evaluationRun, cancellationToken)
            .Where(c => c.Endpoint == name && heldOut.Contains(new CaseKey(c.Suite, c.CaseId)))
            .Select(c => c with { Endpoint = endpoint.Name });
        var rows = await RunComparison.CompareAsync(HeldOutCells(endpoint.Name), HeldOutCells(adapterEndpoint.Name), options.Significance, cancellationToken).ConfigureAwait(false);
        return new FineTuneResult(runId, endpoint.Name, adapterEndpoint.Name, Sorted(train), Sorted(heldOut), examples, training, evaluationRun, rows);
    }

    /// <summary>
    /// The held-out cases: the <paramref name="share"/> of <paramref name="cases"/> (rounded, at least one unless there
    /// are fewer than two) that come first when ordered by a hash of the seed and the case, so that the same seed
    /// holds out the same cases however the results are ordered.
    /// </summary>
    public static IReadOnlySet<CaseKey> HeldOut(IReadOnlyCollection<CaseKey> cases, double share, int seed)
    {
        ArgumentNullException.ThrowIfNull(cases);
        var count = cases.Count < 2 ? 0 : Math.Clamp((int)Math.Round(cases.Count * share, MidpointRounding.AwayFromZero), 1, cases.Count - 1);
        return cases.OrderBy(c => Rank(seed, c)).ThenBy(c => c.Suite, StringComparer.Ordinal).ThenBy(c => c.CaseId, StringComparer.Ordinal).Take(count).ToHashSet();

        static ulong Rank(int seed, CaseKey c) =>
            BitConverter.ToUInt64(SHA256.HashData(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{seed}\n{c.Suite}\n{c.CaseId}"))));
    }

    private static List<CaseKey> Sorted(IEnumerable<CaseKey> cases) =>
        [.. cases.OrderBy(c => c.Suite, StringComparer.Ordinal).ThenBy(c => c.CaseId, StringComparer.Ordinal)];

    private static async Task<(string Jsonl, FineTuneSummary Summary)> ExportAsync(IEvalMeshClient client, string runId, FineTuneSelection selection, CancellationToken cancellationToken)
    {
        using var text = new StringWriter(CultureInfo.InvariantCulture) { NewLine = "\n" };
        var summary = await FineTuneExport.WriteAsync(client, runId, selection, text, cancellationToken).ConfigureAwait(false);
        return (text.ToString(), summary);
    }

    private static async Task<TrainingStatus> TrainAsync(IEvalMeshClient client, string jobId, TrainingRequest request, IProgress<FineTuneProgress>? progress, CancellationToken cancellationToken)
    {
        var training = await client.StartTrainingAsync(jobId, request, cancellationToken).ConfigureAwait(false);
        while (!training.IsFinished)
        {
            progress?.Report(new FineTuneProgress("train", Training: training));
            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken).ConfigureAwait(false);
            training = await client.GetTrainingAsync(jobId, cancellationToken).ConfigureAwait(false);
        }

        progress?.Report(new FineTuneProgress("train", Training: training));
        return training.State == TrainingState.Completed
            ? training
            : throw new EvalMeshInputException($"training job '{jobId}' {training.State.ToString().ToLowerInvariant()}: {training.Error ?? "no reason given"}", setting: "training");
    }
}
