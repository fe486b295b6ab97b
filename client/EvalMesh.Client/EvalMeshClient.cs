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
        (await ThroughSiloLossAsync(() => grains.GetRun(runId).GetOutlineAsync(), cancellationToken).ConfigureAwait(false)).Spec;

    public Task<RunStatus> GetRunAsync(string runId, CancellationToken cancellationToken = default) =>
        ThroughSiloLossAsync(() => grains.GetRun(runId).GetStatusAsync(), cancellationToken);

    public Task<IReadOnlyList<RunStatus>> ListRunsAsync(CancellationToken cancellationToken = default) =>
        ThroughSiloLossAsync(() => grains.GetRunIndex().ListAsync(), cancellationToken);

    public async IAsyncEnumerable<RunStatus> WatchRunAsync(string runId, TimeSpan? interval = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var every = interval ?? TimeSpan.FromMilliseconds(100);
        while (true)
        {
            var status = await GetRunAsync(runId, cancellationToken).ConfigureAwait(false);
            yield return status;
            if (status.IsFinished)
            {
                yield break;
            }

            await Task.Delay(every, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    public Task<RunReport> GetReportAsync(string runId, CancellationToken cancellationToken = default) =>
        ThroughSiloLossAsync(() => grains.GetRunResults(runId).GetReportAsync(), cancellationToken);

    public async IAsyncEnumerable<CellResult> GetResultsAsync(string runId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // Asked again from the start while nothing has arrived; once results flow, a lost silo ends the stream.
        long? failingSince = null;
        var started = false;
        while (true)
        {
            var results = grains.GetRunResults(runId).GetResultsAsync().WithCancellation(cancellationToken).ConfigureAwait(false).GetAsyncEnumerator();
            try
            {
                while (true)
                {
                    try
                    {
                        if (!await results.MoveNextAsync())
                        {
                            yield break;
                        }
                    }
                    catch (Exception ex) when (!started && MayRetry(ex, ref failingSince, cancellationToken))
                    {
                        break;
                    }

                    started = true;
                    yield return results.Current;
                }
            }
            finally
            {
                await results.DisposeAsync();
            }

            await Task.Delay(SiloLossRetryDelay, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    public Task<IReadOnlyList<PromptHead>> GetPromptHeadsAsync(string runId, CancellationToken cancellationToken = default) =>
        ThroughSiloLossAsync(() => grains.GetRunResults(runId).GetPromptHeadsAsync(), cancellationToken);

    private static readonly TimeSpan SiloLossRetryDelay = TimeSpan.FromMilliseconds(250);

    // A read whose silo dies (the run grain's, or the gateway this client talks through) is asked again until the
    // cluster has moved on: the grain's next activation, on a survivor, answers once membership has declared the silo
    // dead, and the client's next call goes through a live gateway.
    private async Task<T> ThroughSiloLossAsync<T>(Func<Task<T>> read, CancellationToken cancellationToken)
    {
        long? failingSince = null;
        while (true)
        {
            try
            {
                return await read().WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (MayRetry(ex, ref failingSince, cancellationToken))
            {
                await Task.Delay(SiloLossRetryDelay, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private bool MayRetry(Exception exception, ref long? failingSince, CancellationToken cancellationToken) =>
        AdapterRouter.IsSiloLoss(exception) && _time.GetElapsedTime(failingSince ??= _time.GetTimestamp()) < AdapterRouter.SiloLossWindow && !cancellationToken.IsCancellationRequested;

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
