using Prometheus;

namespace EvalMesh.Grains.Training;

/// <summary>Training jobs on this silo, exported at its <c>/metrics</c>.</summary>
internal static class TrainingMetrics
{
    public static readonly Gauge Jobs = Metrics.CreateGauge("evalmesh_train_jobs", "Training jobs on this silo, by state (running, completed, failed, cancelled).", "state");

    public static readonly Counter Steps = Metrics.CreateCounter("evalmesh_train_steps_total", "Optimizer steps taken by training jobs on this silo.");

    public static readonly Counter Tokens = Metrics.CreateCounter("evalmesh_train_tokens_total", "Tokens through training's forward and backward passes on this silo.");

    public static readonly Gauge Loss = Metrics.CreateGauge("evalmesh_train_loss", "The latest loss of the training jobs on this silo, by kind (train, validation).", "kind");
}
