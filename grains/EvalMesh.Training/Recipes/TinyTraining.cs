using System.Diagnostics;
using EvalMesh.Abstractions;
using EvalMesh.Inference.Tiny;

namespace EvalMesh.Training.Recipes;

/// <summary>A LoRA adapter of the recipe's model: trained on the base, from questions in some formats only.</summary>
/// <param name="Name">Its name in the catalog, such as <c>adapter-1</c>.</param>
/// <param name="Formats">The formats its training questions are in.</param>
/// <param name="Seeds">Generator seeds it is trained on, after the base model's.</param>
public sealed record TinyAdapterRecipe(string Name, IReadOnlyList<string> Formats, int Seeds)
{
    /// <summary>How it is trained (one epoch); its seed and maximum sequence length are the recipe's.</summary>
    public TrainingSettings Training { get; init; } = new() { Epochs = 1, LearningRate = 2e-3f, BatchSize = 16 };
}

/// <summary>Where training the recipe's model is: the stage (a base stage's or an adapter's name) and the trainer's progress.</summary>
/// <param name="Stage">What is being trained.</param>
/// <param name="Progress">The trainer's last report.</param>
public sealed record TinyTrainingProgress(string Stage, TrainingProgress Progress);

/// <summary>What training the recipe's model did.</summary>
/// <param name="Files">The model and its adapters.</param>
/// <param name="Stages">The base model's training, stage by stage.</param>
/// <param name="Adapters">Each adapter's training.</param>
/// <param name="Elapsed">Wall time of the whole recipe (data, training, writing).</param>
public sealed record TinyTrainingResult(TinyModelFiles Files, IReadOnlyList<TrainingResult> Stages, IReadOnlyList<TrainingResult> Adapters, TimeSpan Elapsed);

/// <summary>
/// Runs <see cref="TinyRecipe"/>: writes a freshly initialised model of the recipe's shape, trains all its weights with
/// the built-in trainer through the recipe's stages, then trains each adapter on the result. The same recipe, seed and
/// thread count give byte-identical files.
/// </summary>
public static class TinyTraining
{
    /// <summary>Trains the model and its adapters into <paramref name="folder"/> (files replaced atomically).</summary>
    public static async Task<TinyTrainingResult> TrainAsync(TinyRecipe recipe, string folder, IProgress<TinyTrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(recipe);
        ArgumentNullException.ThrowIfNull(folder);
        var clock = Stopwatch.StartNew();
        Directory.CreateDirectory(folder);
        var work = Directory.CreateTempSubdirectory("evalmesh-train-tiny-").FullName;
        try
        {
            var model = TinyModel.WriteInitial(work, recipe.Seed, recipe.Shape);
            var trainer = new BuiltInTrainer(new BuiltInTrainerOptions { Threads = recipe.Threads });
            var validation = Path.Combine(work, "validation.jsonl");
            TinyRecipe.WriteJsonl(validation, recipe.HeldOutExamples(recipe.ValidationSeeds, casesPerCategory: 2));

            var stages = new List<TrainingResult>();
            var nextSeed = recipe.FirstSeed;
            foreach (var stage in recipe.Stages)
            {
                var data = Path.Combine(work, $"{stage.Name}.jsonl");
                var seeds = Enumerable.Range(nextSeed, stage.Seeds);
                nextSeed += stage.Seeds;
                TinyRecipe.WriteJsonl(data, seeds.SelectMany(s => recipe.TrainingExamples(s, stage, recipe.Formats)));
                var output = stage == recipe.Stages[^1] ? Path.Combine(folder, TinyModel.ModelFileName) : Path.Combine(work, $"{stage.Name}.gguf");
                var job = new TrainingJob(model, data, output)
                {
                    Mode = TrainingMode.Full,
                    ValidationData = validation,
                    Settings = new() { Epochs = 1, LearningRate = recipe.LearningRate, BatchSize = recipe.BatchSize, MaxSequenceLength = recipe.MaxSequenceLength, Seed = recipe.Seed },
                    WarmupFraction = recipe.WarmupFraction,
                    Schedule = LearningRateSchedule.Cosine,
                    WeightDecay = recipe.WeightDecay,
                };
                stages.Add(await trainer.TrainAsync(job, Report(stage.Name), cancellationToken).ConfigureAwait(false));
                model = output;
            }

            var adapters = new List<TrainingResult>();
            var adapterFiles = new List<string>();
            foreach (var adapter in recipe.Adapters)
            {
                var adapterData = Path.Combine(work, $"{adapter.Name}.jsonl");
                var seeds = Enumerable.Range(nextSeed, adapter.Seeds);
                nextSeed += adapter.Seeds;
                TinyRecipe.WriteJsonl(adapterData, seeds.SelectMany(s => recipe.TrainingExamples(s, recipe.Stages[^1], adapter.Formats)));
                var output = Path.Combine(folder, $"{adapter.Name}.gguf");
                var adapterJob = new TrainingJob(model, adapterData, output)
                {
                    Mode = TrainingMode.Lora,
                    Settings = adapter.Training with { MaxSequenceLength = recipe.MaxSequenceLength, Seed = recipe.Seed },
                };
                adapters.Add(await trainer.TrainAsync(adapterJob, Report(adapter.Name), cancellationToken).ConfigureAwait(false));
                adapterFiles.Add(output);
            }

            return new TinyTrainingResult(new TinyModelFiles(model, adapterFiles), stages, adapters, clock.Elapsed);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }

        IProgress<TrainingProgress>? Report(string stage) => progress is null ? null : new SynchronousProgress(p => progress.Report(new TinyTrainingProgress(stage, p)));
    }

    // Progress<T> posts to the thread pool, so reports could arrive out of order or after the job ended.
    private sealed class SynchronousProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
