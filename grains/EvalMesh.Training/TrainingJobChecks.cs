using System.Globalization;
using EvalMesh.Training.Model;

namespace EvalMesh.Training;

/// <summary>The checks a job passes before any work starts, each failing with one line that says what to change.</summary>
internal static class TrainingJobChecks
{
    // Attention keeps n(n+1)/2 probabilities per head and block for the backward pass; beyond this they no longer fit
    // one array for any model worth training here.
    private const int MaxSequenceLength = 16384;

    /// <exception cref="TrainingException">A setting is out of range.</exception>
    public static void Check(TrainingJob job)
    {
        if (string.IsNullOrWhiteSpace(job.Output))
        {
            throw new TrainingException("(no output)", TrainingProblem.InvalidSetting, "the output path is empty");
        }

        void Require(bool ok, string detail)
        {
            if (!ok)
            {
                throw new TrainingException(job.Output, TrainingProblem.InvalidSetting, detail);
            }
        }

        Require(!string.IsNullOrWhiteSpace(job.BaseModel), "the base model path is empty");
        Require(!string.IsNullOrWhiteSpace(job.TrainingData), "the training data path is empty");
        Require(!string.Equals(Path.GetFullPath(job.Output), Path.GetFullPath(job.BaseModel), StringComparison.Ordinal), "the output would overwrite the base model");
        Require(Enum.IsDefined(job.Mode), $"mode {job.Mode} is not lora or full");
        Require(Enum.IsDefined(job.Schedule), $"schedule {job.Schedule} is not constant, linear or cosine");
        Require(job.Settings.Epochs >= 1, Text($"epochs is {job.Settings.Epochs}; it must be at least 1"));
        Require(job.Settings.BatchSize >= 1, Text($"the batch size is {job.Settings.BatchSize}; it must be at least 1"));
        Require(float.IsFinite(job.Settings.LearningRate) && job.Settings.LearningRate > 0, Text($"the learning rate is {job.Settings.LearningRate}; it must be above 0"));
        Require(job.Beta1 is >= 0 and < 1 && job.Beta2 is >= 0 and < 1, Text($"AdamW's betas are {job.Beta1} and {job.Beta2}; each must be in [0, 1)"));
        Require(float.IsFinite(job.Epsilon) && job.Epsilon > 0, Text($"AdamW's epsilon is {job.Epsilon}; it must be above 0"));
        Require(float.IsFinite(job.WeightDecay) && job.WeightDecay >= 0, Text($"the weight decay is {job.WeightDecay}; it must be 0 or more"));
        Require(float.IsFinite(job.MaxGradientNorm) && job.MaxGradientNorm >= 0, Text($"the maximum gradient norm is {job.MaxGradientNorm}; it must be 0 (off) or more"));
        Require(job.WarmupFraction is >= 0 and < 1, Text($"the warmup fraction is {job.WarmupFraction}; it must be in [0, 1)"));
        Require(job.Settings.MaxSequenceLength is >= 2 and <= MaxSequenceLength, Text($"the maximum sequence length is {job.Settings.MaxSequenceLength}; it must be in [2, {MaxSequenceLength}]"));
        if (job.Mode == TrainingMode.Lora)
        {
            Require(job.Settings.Rank >= 1, Text($"the LoRA rank is {job.Settings.Rank}; it must be at least 1"));
            Require(float.IsFinite(job.Settings.Alpha) && job.Settings.Alpha > 0, Text($"LoRA alpha is {job.Settings.Alpha}; it must be above 0"));
            Require(job.Targets is { Count: > 0 }, "no LoRA targets are given");
            Require(job.Targets.All(Enum.IsDefined) && job.Targets.Distinct().Count() == job.Targets.Count, "the LoRA targets must be distinct known targets");
        }
    }

    /// <summary>Every adapted matrix must be at least as large as the rank in both directions.</summary>
    /// <exception cref="TrainingException">The rank is above a target's size.</exception>
    public static void CheckRank(TrainingJob job, BaseModel model)
    {
        foreach (var target in job.Targets)
        {
            var (input, output) = (model.Config.InputSize(target), model.Config.OutputSize(target));
            if (job.Settings.Rank > Math.Min(input, output))
            {
                throw new TrainingException(model.Path, TrainingProblem.RankTooLarge, Text(
                    $"rank {job.Settings.Rank} is above the size of {target.TensorName(0)} [{input}, {output}]; the rank can be at most {Math.Min(input, output)} for the targets {string.Join(", ", job.Targets.Select(t => t.Name()))}"));
            }
        }
    }

    private static string Text(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
