namespace EvalMesh.Abstractions;

/// <summary>An adapter to train on a silo from chat examples, and register when done.</summary>
/// <param name="Model">The base model: a name the silos know (such as <c>tiny</c>) or a GGUF path they can read.</param>
/// <param name="AdapterName">The name to register the adapter under, as <c>model:name</c>.</param>
/// <param name="TrainingData">The training examples: chat JSONL, as <c>export-finetune</c> writes it.</param>
/// <param name="ValidationData">Held-out examples in the same format, whose loss is measured after every epoch; or null.</param>
/// <param name="Rank">LoRA rank.</param>
/// <param name="Alpha">LoRA alpha.</param>
/// <param name="Epochs">Passes over the training examples.</param>
/// <param name="LearningRate">AdamW's peak learning rate.</param>
/// <param name="BatchSize">Examples per optimizer step.</param>
/// <param name="Seed">Seeds the adapter's start and the order of examples.</param>
/// <param name="MaxSequenceLength">Examples longer than this many tokens (prompt and answer) are skipped.</param>
[GenerateSerializer, Immutable, Alias("evalmesh.training-request")]
public sealed record TrainingRequest(
    [property: Id(0)] string Model,
    [property: Id(1)] string AdapterName,
    [property: Id(2)] string TrainingData,
    [property: Id(3)] string? ValidationData = null,
    [property: Id(4)] int Rank = 8,
    [property: Id(5)] float Alpha = 16,
    [property: Id(6)] int Epochs = 3,
    [property: Id(7)] float LearningRate = 1e-3f,
    [property: Id(8)] int BatchSize = 8,
    [property: Id(9)] int Seed = 0,
    [property: Id(10)] int MaxSequenceLength = 8192);

/// <summary>Where a training job is.</summary>
[GenerateSerializer]
public enum TrainingState
{
    /// <summary>Loading, training or writing.</summary>
    Running,

    /// <summary>Done: the adapter is written and registered.</summary>
    Completed,

    /// <summary>Stopped by a problem (<see cref="TrainingStatus.Error"/> says which).</summary>
    Failed,

    /// <summary>Cancelled; nothing was written.</summary>
    Cancelled,
}

/// <summary>A training job's progress.</summary>
/// <param name="JobId">The job.</param>
/// <param name="State">Where it is.</param>
/// <param name="Silo">The silo that trains it.</param>
/// <param name="Epoch">The current epoch, from 1 (0 before the first step).</param>
/// <param name="Epochs">Epochs in the job.</param>
/// <param name="Step">Optimizer steps done.</param>
/// <param name="TotalSteps">Optimizer steps in the job (0 until the data is loaded).</param>
/// <param name="TrainLoss">The last step's training loss.</param>
/// <param name="InitialValidationLoss">The validation loss before training, if there is validation data.</param>
/// <param name="ValidationLoss">The latest validation loss.</param>
/// <param name="TokensPerSecond">Training speed.</param>
/// <param name="Adapter">Once completed: the registered adapter.</param>
/// <param name="Error">Once failed: why, in one line.</param>
[GenerateSerializer, Immutable, Alias("evalmesh.training-status")]
public sealed record TrainingStatus(
    [property: Id(0)] string JobId,
    [property: Id(1)] TrainingState State,
    [property: Id(2)] string Silo,
    [property: Id(3)] int Epoch,
    [property: Id(4)] int Epochs,
    [property: Id(5)] int Step,
    [property: Id(6)] int TotalSteps,
    [property: Id(7)] double? TrainLoss,
    [property: Id(8)] double? InitialValidationLoss,
    [property: Id(9)] double? ValidationLoss,
    [property: Id(10)] double TokensPerSecond,
    [property: Id(11)] AdapterRegistration? Adapter,
    [property: Id(12)] string? Error)
{
    /// <summary>Whether the job has ended, one way or another.</summary>
    public bool IsFinished => State != TrainingState.Running;
}

/// <summary>
/// A training job (key = job id): trains a LoRA adapter on the silo it lives on, taking one of that silo's adapter
/// slots while it runs, then registers the adapter with the cluster, whose routing places it like any other.
/// </summary>
[Alias("evalmesh.training")]
public interface ITrainingGrain : IGrainWithStringKey
{
    /// <summary>Starts the job; calling it again once started changes nothing.</summary>
    [Alias("start")]
    Task<TrainingStatus> StartAsync(TrainingRequest request);

    /// <summary>The job's progress.</summary>
    /// <exception cref="TrainingJobNotFoundException">The job was never started (or its silo died, taking it along).</exception>
    [Alias("status")]
    Task<TrainingStatus> GetStatusAsync();

    /// <summary>Stops the job between two steps; nothing is written.</summary>
    [Alias("cancel")]
    Task<TrainingStatus> CancelAsync();
}
