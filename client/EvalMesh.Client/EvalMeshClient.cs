using System.Globalization;
using System.Runtime.CompilerServices;
using EvalMesh.Abstractions;
using EvalMesh.Evaluation;
using EvalMesh.Evaluation.Configuration;

namespace EvalMesh.Client;

/// <summary>
/// <see cref="IEvalMeshClient"/> over Orleans grains. On a silo (and the CLI's embedded one) <paramref name="contexts"/>
/// checks a config's prompts against its llama endpoints' context windows before the run starts.
/// </summary>
internal sealed class EvalMeshClient(IGrainFactory grains, TimeProvider? time = null, IModelContexts? contexts = null) : IEvalMeshClient
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly AdapterRouter _router = new(grains, time);
    private readonly GrainRunInputStore _inputs = new(grains);

    public async Task<RunStatus> StartRunAsync(EvalConfig config, string? runId = null, CancellationToken cancellationToken = default)
    {
        var prepared = await RunSpecBuilder.PrepareAsync(config, _inputs, contexts, cancellationToken).ConfigureAwait(false);
        await prepared.UploadMissingAsync(_inputs, cancellationToken).ConfigureAwait(false);
        return await grains.GetRun(runId ?? NewRunId()).StartAsync(prepared.Spec).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<RunStatus> StartRunAsync(RunSpec spec, string runId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        foreach (var suite in spec.Suites)
        {
            if (!await _inputs.HasSuiteAsync(suite.SuiteId, cancellationToken).ConfigureAwait(false) || !await _inputs.HasDatasetAsync(suite.DatasetId, cancellationToken).ConfigureAwait(false))
            {
                throw new EvalMeshInputException($"suite '{suite.Name}' (suite {suite.SuiteId}, dataset {suite.DatasetId}) is not stored in this cluster; start the run from its config instead", setting: "suites");
            }
        }

        return await grains.GetRun(runId).StartAsync(spec).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<RunSpec> GetRunSpecAsync(string runId, CancellationToken cancellationToken = default) =>
        (await grains.GetRun(runId).GetOutlineAsync().WaitAsync(cancellationToken).ConfigureAwait(false)).Spec;

    public Task<RunStatus> GetRunAsync(string runId, CancellationToken cancellationToken = default) =>
        grains.GetRun(runId).GetStatusAsync().WaitAsync(cancellationToken);

    public Task<IReadOnlyList<RunStatus>> ListRunsAsync(CancellationToken cancellationToken = default) =>
        grains.GetRunIndex().ListAsync().WaitAsync(cancellationToken);

    public async IAsyncEnumerable<RunStatus> WatchRunAsync(string runId, TimeSpan? interval = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var every = interval ?? TimeSpan.FromMilliseconds(100);
        while (true)
        {
            var status = await StatusThroughSiloLossAsync(runId, cancellationToken).ConfigureAwait(false);
            yield return status;
            if (status.IsFinished)
            {
                yield break;
            }

            await Task.Delay(every, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    // The run grain's silo may die while it is watched: its next activation, on a survivor, answers once membership
    // has declared the silo dead.
    private async Task<RunStatus> StatusThroughSiloLossAsync(string runId, CancellationToken cancellationToken)
    {
        long? failingSince = null;
        while (true)
        {
            try
            {
                return await GetRunAsync(runId, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (AdapterRouter.IsSiloLoss(ex) && _time.GetElapsedTime(failingSince ??= _time.GetTimestamp()) < AdapterRouter.SiloLossWindow && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250), _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public Task<RunReport> GetReportAsync(string runId, CancellationToken cancellationToken = default) =>
        grains.GetRunResults(runId).GetReportAsync().WaitAsync(cancellationToken);

    public async IAsyncEnumerable<CellResult> GetResultsAsync(string runId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var result in grains.GetRunResults(runId).GetResultsAsync().WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            yield return result;
        }
    }

    public Task<IReadOnlyList<PromptHead>> GetPromptHeadsAsync(string runId, CancellationToken cancellationToken = default) =>
        grains.GetRunResults(runId).GetPromptHeadsAsync().WaitAsync(cancellationToken);

    public Task<IReadOnlyList<ComparisonRow>> CompareRunsAsync(string baseline, string candidate, double alpha = 0.05, CancellationToken cancellationToken = default) =>
        RunComparison.CompareAsync(this, baseline, candidate, alpha, cancellationToken);

    public Task<RunStatus> CancelRunAsync(string runId, CancellationToken cancellationToken = default) =>
        grains.GetRun(runId).CancelAsync().WaitAsync(cancellationToken);

    public Task<RunStatus> ResumeRunAsync(string runId, CancellationToken cancellationToken = default) =>
        grains.GetRun(runId).ResumeAsync().WaitAsync(cancellationToken);

    public Task<AdapterRegistration> RegisterAdapterAsync(string model, string name, string path, CancellationToken cancellationToken = default) =>
        grains.GetLoraAdapter(model, name).RegisterAsync(path).WaitAsync(cancellationToken);

    public Task<TrainingStatus> StartTrainingAsync(string jobId, TrainingRequest request, CancellationToken cancellationToken = default) =>
        grains.GetTraining(jobId).StartAsync(request).WaitAsync(cancellationToken);

    public Task<TrainingStatus> GetTrainingAsync(string jobId, CancellationToken cancellationToken = default) =>
        grains.GetTraining(jobId).GetStatusAsync().WaitAsync(cancellationToken);

    public Task<IReadOnlyList<AdapterRegistration>> ListAdaptersAsync(CancellationToken cancellationToken = default) =>
        grains.GetAdapterRegistry().ListAsync().WaitAsync(cancellationToken);

    public Task<InferenceReply> InferAsync(string model, string prompt, GenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        return _router.InferAsync(AdapterKey.FromModelName(model), new InferenceRequest(prompt, options ?? GenerationOptions.Greedy), cancellationToken);
    }

    public IAsyncEnumerable<InferenceChunk> StreamInferenceAsync(string model, string prompt, GenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        return _router.StreamAsync(AdapterKey.FromModelName(model), new InferenceRequest(prompt, options ?? GenerationOptions.Greedy), cancellationToken);
    }

    public Task<DirectorySnapshot> GetResidencyAsync(CancellationToken cancellationToken = default) =>
        grains.GetAdapterDirectory().GetSnapshotAsync().WaitAsync(cancellationToken);

    public async Task<IReadOnlyList<string>> EvictAdapterAsync(string model, CancellationToken cancellationToken = default)
    {
        var key = AdapterKey.FromModelName(model);
        var holders = (await GetResidencyAsync(cancellationToken).ConfigureAwait(false)).Silos
            .Where(s => s.Adapters.Any(a => a.Key == key && a.Resident))
            .Select(s => s.Silo)
            .ToList();
        var evicted = await Task.WhenAll(holders.Select(async silo => (silo, await grains.GetSiloAgent(silo).EvictAsync(key).WaitAsync(cancellationToken).ConfigureAwait(false)))).ConfigureAwait(false);
        return [.. evicted.Where(e => e.Item2).Select(e => e.silo)];
    }

    private string NewRunId() =>
        string.Create(CultureInfo.InvariantCulture, $"run-{_time.GetUtcNow():yyyyMMdd-HHmmss}-{Random.Shared.Next(0x10000):x4}");
}
