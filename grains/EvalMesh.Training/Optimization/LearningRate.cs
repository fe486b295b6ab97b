namespace EvalMesh.Training.Optimization;

/// <summary>
/// The learning rate at each step: a linear warmup from 0 over the first <c>warmupSteps</c> steps, then constant,
/// linear or cosine decay towards 0 over the rest (as Hugging Face's get_linear/cosine_schedule_with_warmup).
/// </summary>
internal sealed class LearningRate(double peak, LearningRateSchedule schedule, int warmupSteps, int totalSteps)
{
    /// <summary>The learning rate of step <paramref name="step"/> (0-based).</summary>
    public double At(int step)
    {
        if (step < warmupSteps)
        {
            return peak * (step + 1) / warmupSteps;
        }

        var progress = (double)(step - warmupSteps) / Math.Max(1, totalSteps - warmupSteps);
        return schedule switch
        {
            LearningRateSchedule.Constant => peak,
            LearningRateSchedule.Linear => peak * (1 - progress),
            LearningRateSchedule.Cosine => peak * 0.5 * (1 + Math.Cos(Math.PI * progress)),
            _ => throw new InvalidOperationException($"unknown schedule {schedule}"),
        };
    }
}
