using EvalMesh.Abstractions;

namespace EvalMesh.Training;

/// <summary>What a training job trains.</summary>
public enum TrainingMode
{
    /// <summary>
    /// LoRA factors only, the base frozen: the output is an adapter GGUF for the base (<c>general.type=adapter</c>,
    /// <c>blk.N.&lt;target&gt;.weight.lora_a</c>/<c>.lora_b</c>, <c>adapter.lora.alpha</c>,
    /// <c>evalmesh.base_fingerprint</c>).
    /// </summary>
    Lora,

    /// <summary>Every weight: the output is a complete model GGUF with the base's metadata and a new fingerprint.</summary>
    Full,
}

/// <summary>How the learning rate changes over the steps of a job.</summary>
public enum LearningRateSchedule
{
    /// <summary>The learning rate throughout (after warmup).</summary>
    Constant,

    /// <summary>From the learning rate down to zero in a straight line over the steps after warmup.</summary>
    Linear,

    /// <summary>From the learning rate down to zero along half a cosine over the steps after warmup.</summary>
    Cosine,
}

/// <summary>
/// One training job: a base model and chat examples in, an adapter (or a whole model) out. The defaults suit LoRA on a
/// small model; every value is checked before any work starts.
/// </summary>
/// <param name="BaseModel">The base model GGUF (llama architecture).</param>
/// <param name="TrainingData">
/// JSONL in the OpenAI chat fine-tuning format, one example a line:
/// <c>{"messages":[{"role":"system"|"user"|"assistant","content":"..."},...,{"role":"assistant","content":"answer"}]}</c>.
/// The prompt is every message before the last one, rendered as inference renders it; the last message, which must be
/// the assistant's, is the answer. Blank lines are skipped.
/// </param>
/// <param name="Output">Where to write the adapter (or, in <see cref="TrainingMode.Full"/>, the model). Replaced atomically.</param>
public sealed record TrainingJob(string BaseModel, string TrainingData, string Output)
{
    /// <summary>Held-out examples in the same format; their loss is measured before training and after every epoch.</summary>
    public string? ValidationData { get; init; }

    /// <summary>LoRA factors (the default) or all weights.</summary>
    public TrainingMode Mode { get; init; } = TrainingMode.Lora;

    /// <summary>The settings a user chooses: rank, alpha, epochs, learning rate, batch size, seed, maximum sequence length.</summary>
    public TrainingSettings Settings { get; init; } = new();

    /// <summary>The weights LoRA adapts in every block; all seven by default.</summary>
    public IReadOnlyList<LoraTarget> Targets { get; init; } = LoraTargets.All;

    /// <summary>AdamW's decoupled weight decay, applied to matrices only (never to norm weights).</summary>
    public float WeightDecay { get; init; }

    /// <summary>AdamW's β1.</summary>
    public float Beta1 { get; init; } = 0.9f;

    /// <summary>AdamW's β2.</summary>
    public float Beta2 { get; init; } = 0.999f;

    /// <summary>AdamW's ε.</summary>
    public float Epsilon { get; init; } = 1e-8f;

    /// <summary>Gradients are scaled down when their global L2 norm is above this; 0 turns clipping off.</summary>
    public float MaxGradientNorm { get; init; } = 1f;

    /// <summary>How the learning rate decays after warmup.</summary>
    public LearningRateSchedule Schedule { get; init; } = LearningRateSchedule.Cosine;

    /// <summary>The fraction of all steps over which the learning rate rises linearly from zero (0 to 1).</summary>
    public float WarmupFraction { get; init; } = 0.05f;
}

/// <summary>Where a job is: sent after every optimizer step, and after every validation.</summary>
/// <param name="Epoch">The epoch, from 1 (0 before the first step).</param>
/// <param name="Epochs">Epochs in the job.</param>
/// <param name="Step">Optimizer steps done.</param>
/// <param name="TotalSteps">Optimizer steps in the job.</param>
/// <param name="TrainLoss">The mean cross-entropy of the last step's answer tokens (NaN before the first step).</param>
/// <param name="ValidationLoss">The latest validation loss, if there is validation data.</param>
/// <param name="TokensPerSecond">Tokens (prompt and answer) through forward and backward per second so far.</param>
/// <param name="Elapsed">Time since training started (after loading and tokenizing).</param>
public sealed record TrainingProgress(int Epoch, int Epochs, int Step, int TotalSteps, double TrainLoss, double? ValidationLoss, double TokensPerSecond, TimeSpan Elapsed);

/// <summary>One optimizer step on the loss curve.</summary>
/// <param name="Step">The step, from 1.</param>
/// <param name="Epoch">Its epoch, from 1.</param>
/// <param name="TrainLoss">The mean cross-entropy of its answer tokens, before the update.</param>
/// <param name="LearningRate">The learning rate it used.</param>
/// <param name="GradientNorm">The global gradient norm before clipping.</param>
/// <param name="ValidationLoss">At the last step of an epoch: the validation loss after it.</param>
public sealed record LossPoint(int Step, int Epoch, double TrainLoss, double LearningRate, double GradientNorm, double? ValidationLoss);

/// <summary>What a finished job did.</summary>
/// <param name="Output">The file written.</param>
/// <param name="Mode">What was trained.</param>
/// <param name="Examples">Training examples used.</param>
/// <param name="SkippedExamples">Training examples skipped as longer than <see cref="TrainingSettings.MaxSequenceLength"/>.</param>
/// <param name="ValidationExamples">Validation examples used.</param>
/// <param name="Steps">Optimizer steps taken.</param>
/// <param name="Tokens">Tokens through forward and backward, over all epochs.</param>
/// <param name="Elapsed">Training time with validation (after loading and tokenizing, before writing).</param>
/// <param name="TokensPerSecond">Tokens through forward and backward per second of the optimizer steps.</param>
/// <param name="InitialValidationLoss">The validation loss of the untrained start, if there is validation data.</param>
/// <param name="Curve">One point per optimizer step.</param>
public sealed record TrainingResult(
    string Output,
    TrainingMode Mode,
    int Examples,
    int SkippedExamples,
    int ValidationExamples,
    int Steps,
    long Tokens,
    TimeSpan Elapsed,
    double TokensPerSecond,
    double? InitialValidationLoss,
    IReadOnlyList<LossPoint> Curve)
{
    /// <summary>The validation loss after the last epoch, if there is validation data.</summary>
    public double? FinalValidationLoss => Curve.Count > 0 ? Curve[^1].ValidationLoss : InitialValidationLoss;
}
