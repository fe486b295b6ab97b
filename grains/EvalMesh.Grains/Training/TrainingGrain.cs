using EvalMesh.Abstractions;
using EvalMesh.Grains.Hosting;
using EvalMesh.Inference.Endpoints;
using EvalMesh.Inference.Llama;
using EvalMesh.Training;
using Microsoft.Extensions.Logging;

namespace EvalMesh.Grains.Training;

/// <summary>
/// A training job on this silo: writes the examples it was sent to the silo's data folder, holds one of the model
/// host's adapter slots while the built-in trainer runs on the thread pool, writes the adapter under
/// <c>adapters/</c> in the data folder (a folder every silo must read, as for any registered adapter) and registers
/// it. Its progress lives in memory: a job on a silo that dies is gone, and is started again under a new id.
/// </summary>
public sealed partial class TrainingGrain(EvalMeshOptions options, ModelCatalog catalog, ModelHost host, IGrainFactory grains, ILocalSiloDetails silo, ILogger<TrainingGrain> logger) : Grain, ITrainingGrain, IDisposable
{
    private readonly CancellationTokenSource _cancellation = new();
    private TrainingStatus? _status;

    private string JobId => this.GetPrimaryKeyString();

    /// <inheritdoc />
    public Task<TrainingStatus> StartAsync(TrainingRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (_status is null)
        {
            _status = new TrainingStatus(JobId, TrainingState.Running, silo.SiloAddress.ToString(), 0, request.Settings.Epochs, 0, 0, null, null, null, 0, null, null);
            TrainingMetrics.Jobs.WithLabels("running").Inc();
            _ = Task.Run(() => TrainAsync(request, _cancellation.Token));

            // The job works outside grain calls; keep the activation (and its status) alive meanwhile.
            DelayDeactivation(TimeSpan.FromDays(1));
        }

        return Task.FromResult(_status);
    }

    /// <inheritdoc />
    public Task<TrainingStatus> GetStatusAsync() => Task.FromResult(_status ?? throw new TrainingJobNotFoundException(JobId));

    /// <inheritdoc />
    public async Task<TrainingStatus> CancelAsync()
    {
        await _cancellation.CancelAsync();
        return await GetStatusAsync();
    }

    /// <inheritdoc />
    public void Dispose() => _cancellation.Dispose();

    private async Task TrainAsync(TrainingRequest request, CancellationToken cancellationToken)
    {
        var folder = Path.Combine(options.DataDirectory, "training", JobId);
        try
        {
            Directory.CreateDirectory(folder);
            var data = Path.Combine(folder, "train.jsonl");
            await File.WriteAllTextAsync(data, request.TrainingData, cancellationToken);
            string? validation = null;
            if (request.ValidationData is { } held)
            {
                validation = Path.Combine(folder, "validation.jsonl");
                await File.WriteAllTextAsync(validation, held, cancellationToken);
            }

            var output = Path.Combine(options.DataDirectory, "adapters", $"{Safe(request.Model)}-{Safe(request.AdapterName)}.gguf");
            Directory.CreateDirectory(Path.GetDirectoryName(output)!);
            var job = new TrainingJob(catalog.ResolveModel(request.Model), data, output)
            {
                ValidationData = validation,
                Settings = request.Settings,
            };
            TrainingResult result;
            using (await host.ReserveAdapterSlotAsync(cancellationToken))
            {
                result = await new BuiltInTrainer().TrainAsync(job, new Progress(this), cancellationToken);
            }

            TrainingMetrics.Tokens.Inc(result.Tokens);
            var adapter = await grains.GetLoraAdapter(request.Model, request.AdapterName).RegisterAsync(output); // off the grain's scheduler: its own factory is not usable here
            Finish(TrainingState.Completed, _status! with { ValidationLoss = result.FinalValidationLoss, Adapter = adapter });
            LogTrained(JobId, adapter.Model, adapter.Name, result.Steps);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Finish(TrainingState.Cancelled, _status!);
        }
        catch (Exception ex)
        {
            // A user's mistake (TrainingException, a rejected adapter) or a fault: either way the job says why.
            LogFailed(ex, JobId);
            Finish(TrainingState.Failed, _status! with { Error = ex.Message });
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    private void Finish(TrainingState state, TrainingStatus status)
    {
        _status = status with { State = state };
        TrainingMetrics.Jobs.WithLabels("running").Dec();
        TrainingMetrics.Jobs.WithLabels(state.ToString().ToLowerInvariant()).Inc();
    }

    private static string Safe(string name) => string.Concat(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_'));

    [LoggerMessage(Level = LogLevel.Information, Message = "Training job {JobId} registered adapter {Model}:{Adapter} after {Steps} steps")]
    private partial void LogTrained(string jobId, string model, string adapter, int steps);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Training job {JobId} failed")]
    private partial void LogFailed(Exception exception, string jobId);

    // Reports on the trainer's thread; the status is a whole immutable record swapped at once.
    private sealed class Progress(TrainingGrain grain) : IProgress<TrainingProgress>
    {
        private int _steps;

        public void Report(TrainingProgress value)
        {
            var status = grain._status!;
            grain._status = status with
            {
                Epoch = value.Epoch,
                Epochs = value.Epochs,
                Step = value.Step,
                TotalSteps = value.TotalSteps,
                TrainLoss = value.Step > 0 ? value.TrainLoss : status.TrainLoss,
                InitialValidationLoss = value.Step == 0 ? value.ValidationLoss : status.InitialValidationLoss,
                ValidationLoss = value.ValidationLoss ?? status.ValidationLoss,
                TokensPerSecond = value.TokensPerSecond,
            };
            TrainingMetrics.Steps.Inc(value.Step - _steps);
            _steps = value.Step;
            TrainingMetrics.Loss.WithLabels("train").Set(value.TrainLoss);
            if (value.ValidationLoss is { } loss)
            {
                TrainingMetrics.Loss.WithLabels("validation").Set(loss);
            }
        }
    }
}
