using System.Diagnostics;
using System.Globalization;
using EvalMesh.Inference.Endpoints;
using EvalMesh.Training.Data;
using EvalMesh.Training.Model;
using EvalMesh.Training.Optimization;
using Microsoft.Extensions.AI;

namespace EvalMesh.Training;

/// <summary>How the <see cref="BuiltInTrainer"/> runs.</summary>
public sealed class BuiltInTrainerOptions
{
    /// <summary>
    /// Renders the messages before the answer into the prompt text, exactly as inference renders a conversation
    /// (by default <see cref="ChatPrompt.Render"/>); change it together with inference's chat template.
    /// </summary>
    public Func<IReadOnlyList<ChatMessage>, string> PromptRenderer { get; init; } = messages => ChatPrompt.Render(messages);

    /// <summary>Threads that run the sequences of a batch; the machine's processor count when null.</summary>
    public int? Threads { get; init; }
}

/// <summary>
/// The trainer that runs in this process on the CPU: LoRA factors (the base frozen) or all weights of a llama model,
/// with explicit forward and backward passes on System.Numerics.Tensors, checked against llama.cpp's logits and against
/// finite differences. Loss is the mean cross-entropy of the answer and end-of-sequence tokens of a batch; the
/// optimizer is AdamW with global-norm clipping and a warmup-then-decay learning rate. See <see cref="ITrainer"/> for
/// the contract it keeps.
/// </summary>
public sealed class BuiltInTrainer(BuiltInTrainerOptions? options = null) : ITrainer
{
    private readonly BuiltInTrainerOptions _options = options ?? new BuiltInTrainerOptions();

    /// <inheritdoc />
    public string Name => "built-in";

    /// <inheritdoc />
    public Task<TrainingResult> TrainAsync(TrainingJob job, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        return Task.Run(() => Train(job, progress, cancellationToken), cancellationToken);
    }

    private TrainingResult Train(TrainingJob job, IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        try
        {
            return TrainChecked(job, progress, cancellationToken);
        }
        catch (OutOfMemoryException ex)
        {
            throw new TrainingException(job.Output, TrainingProblem.OutOfMemory,
                $"the process ran out of memory while training; lower the batch size or the maximum sequence length ({job.Settings.MaxSequenceLength} tokens)", innerException: ex);
        }
    }

    private TrainingResult TrainChecked(TrainingJob job, IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        TrainingJobChecks.Check(job);
        AtomicFile.CheckFolder(job.Output);
        var model = BaseModel.Load(job.BaseModel);
        LoraWeights<float>? lora = null;
        if (job.Mode == TrainingMode.Lora)
        {
            TrainingJobChecks.CheckRank(job, model);
            lora = LoraWeights<float>.Initialise(model.Config, job.Settings.Rank, job.Settings.Alpha, job.Targets, job.Settings.Seed);
        }
        else
        {
            GgufOutput.CheckMetadataCopies(model);
        }

        TrainingSet train;
        TrainingSet? validation = null;
        using (var vocabulary = TrainingVocabulary.Load(job.BaseModel))
        {
            train = TrainingSet.Load(job.TrainingData, vocabulary, _options.PromptRenderer, job.Settings.MaxSequenceLength, cancellationToken);
            if (job.ValidationData is { } validationData)
            {
                validation = TrainingSet.Load(validationData, vocabulary, _options.PromptRenderer, job.Settings.MaxSequenceLength, cancellationToken);
            }
        }

        var transformer = new Transformer<float>(model.Weights, lora);
        var capacity = Math.Max(train.LongestInput, validation?.LongestInput ?? 0);
        transformer.PrepareRope(capacity);
        var threads = Math.Clamp(_options.Threads ?? Environment.ProcessorCount, 1, job.Settings.BatchSize);
        var settings = new AdamWSettings(job.Beta1, job.Beta2, job.Epsilon, job.WeightDecay);
        var session = new TrainingSession(transformer, model.Weights, lora, threads, capacity, settings);

        var count = train.Sequences.Count;
        var stepsPerEpoch = (count + job.Settings.BatchSize - 1) / job.Settings.BatchSize;
        var totalSteps = stepsPerEpoch * job.Settings.Epochs;
        var schedule = new LearningRate(job.Settings.LearningRate, job.Schedule, (int)Math.Round(totalSteps * (double)job.WarmupFraction), totalSteps);
        var random = new Random(job.Settings.Seed);
        var order = Enumerable.Range(0, count).ToArray();
        var curve = new List<LossPoint>(totalSteps);
        var clock = Stopwatch.StartNew();
        var (tokens, stepSeconds) = (0L, 0.0);
        double TokensPerSecond() => stepSeconds > 0 ? tokens / stepSeconds : 0;

        var initialValidation = validation is null ? (double?)null : session.Evaluate(validation.Sequences, cancellationToken);
        progress?.Report(new TrainingProgress(0, job.Settings.Epochs, 0, totalSteps, double.NaN, initialValidation, 0, clock.Elapsed));
        for (var epoch = 1; epoch <= job.Settings.Epochs; epoch++)
        {
            random.Shuffle(order);
            for (var s = 0; s < stepsPerEpoch; s++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var batch = order[(s * job.Settings.BatchSize)..Math.Min(count, (s + 1) * job.Settings.BatchSize)].Select(i => train.Sequences[i]).ToList();
                var learningRate = schedule.At(curve.Count);
                var started = Stopwatch.GetTimestamp();
                var step = session.Step(batch, learningRate, job.MaxGradientNorm, cancellationToken);
                stepSeconds += Stopwatch.GetElapsedTime(started).TotalSeconds;
                tokens += step.Tokens;
                if (!double.IsFinite(step.Loss) || !double.IsFinite(step.GradientNorm))
                {
                    throw new TrainingException(job.TrainingData, TrainingProblem.InvalidSetting, string.Create(CultureInfo.InvariantCulture,
                        $"training diverged at step {curve.Count + 1} (loss {step.Loss}, gradient norm {step.GradientNorm}); lower the learning rate ({job.Settings.LearningRate})"));
                }

                curve.Add(new LossPoint(curve.Count + 1, epoch, step.Loss, learningRate, step.GradientNorm, null));
                progress?.Report(new TrainingProgress(epoch, job.Settings.Epochs, curve.Count, totalSteps, step.Loss, LastValidation(curve, initialValidation), TokensPerSecond(), clock.Elapsed));
            }

            if (validation is not null)
            {
                var loss = session.Evaluate(validation.Sequences, cancellationToken);
                curve[^1] = curve[^1] with { ValidationLoss = loss };
                progress?.Report(new TrainingProgress(epoch, job.Settings.Epochs, curve.Count, totalSteps, curve[^1].TrainLoss, loss, TokensPerSecond(), clock.Elapsed));
            }
        }

        var elapsed = clock.Elapsed;
        var name = Path.GetFileNameWithoutExtension(job.Output);
        AtomicFile.Write(job.Output, temporary =>
        {
            if (lora is not null)
            {
                GgufOutput.WriteAdapter(temporary, name, lora, model);
            }
            else
            {
                GgufOutput.WriteModel(temporary, model, model.Weights);
            }
        }, cancellationToken);

        return new TrainingResult(job.Output, job.Mode, count, train.Skipped, validation?.Sequences.Count ?? 0, curve.Count, tokens, elapsed, TokensPerSecond(), initialValidation, curve);
    }

    private static double? LastValidation(List<LossPoint> curve, double? initial)
    {
        for (var i = curve.Count - 1; i >= 0; i--)
        {
            if (curve[i].ValidationLoss is { } loss)
            {
                return loss;
            }
        }

        return initial;
    }
}
