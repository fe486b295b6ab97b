namespace EvalMesh.Abstractions;

/// <summary>
/// How an adapter is trained: the settings a user chooses, one shape for <c>evalmesh train</c>, a training job on a
/// silo (<see cref="TrainingRequest"/>, <c>PUT /api/training/{job}</c>) and <c>evalmesh finetune</c>. Every value is
/// checked by the trainer before any work starts.
/// </summary>
[GenerateSerializer, Immutable, Alias("evalmesh.training-settings")]
public sealed record TrainingSettings
{
    /// <summary>The LoRA rank r: lora_a is [n_in, r], lora_b is [r, n_out].</summary>
    [Id(0)]
    public int Rank { get; init; } = 8;

    /// <summary>LoRA alpha: the adapter's update is scaled by alpha / rank, as llama.cpp applies it.</summary>
    [Id(1)]
    public float Alpha { get; init; } = 16;

    /// <summary>Passes over the training examples.</summary>
    [Id(2)]
    public int Epochs { get; init; } = 3;

    /// <summary>AdamW's peak learning rate.</summary>
    [Id(3)]
    public float LearningRate { get; init; } = 1e-3f;

    /// <summary>Examples per optimizer step; the loss is the mean over all their answer tokens.</summary>
    [Id(4)]
    public int BatchSize { get; init; } = 8;

    /// <summary>Seeds the adapter's start and the order of examples in every epoch (and <c>finetune</c>'s held-out split).</summary>
    [Id(5)]
    public int Seed { get; init; }

    /// <summary>Examples with more tokens than this (prompt, answer and end of sequence) are skipped and counted.</summary>
    [Id(6)]
    public int MaxSequenceLength { get; init; } = 8192;
}

/// <summary>An adapter to train on a silo from chat examples, and register when done.</summary>
/// <param name="Model">The base model: a name the silos know (such as <c>tiny</c>) or a GGUF path they can read.</param>
/// <param name="AdapterName">The name to register the adapter under, as <c>model:name</c>.</param>
/// <param name="TrainingData">The training examples: chat JSONL, as <c>export-finetune</c> writes it.</param>
/// <param name="ValidationData">Held-out examples in the same format, whose loss is measured after every epoch; or null.</param>
[GenerateSerializer, Immutable, Alias("evalmesh.training-request")]
public sealed record TrainingRequest(
    [property: Id(0)] string Model,
    [property: Id(1)] string AdapterName,
    [property: Id(2)] string TrainingData,
    [property: Id(3)] string? ValidationData = null)
{
    /// <summary>How to train; the defaults when left out.</summary>
    [Id(4)]
    public TrainingSettings Settings { get; init; } = new();
}

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
