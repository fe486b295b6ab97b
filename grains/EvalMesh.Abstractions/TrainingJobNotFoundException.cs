namespace EvalMesh.Abstractions;

/// <summary>A training job id that names no job: never started, or lost with the silo that trained it.</summary>
[GenerateSerializer, Alias("evalmesh.training-job-not-found")]
public sealed class TrainingJobNotFoundException : Exception
{
    /// <summary>Creates the exception for a job id.</summary>
    public TrainingJobNotFoundException(string jobId)
        : base($"training job '{jobId}' does not exist: it was never started, or the silo that trained it is gone")
    {
        JobId = jobId;
    }

    /// <summary>The job id.</summary>
    [Id(0)]
    public string JobId { get; }
}
