namespace EvalMesh.Abstractions;

/// <summary>A run id that names no run.</summary>
[GenerateSerializer, Alias("evalmesh.run-not-found")]
public sealed class RunNotFoundException : Exception
{
    /// <summary>Creates the exception for a run id.</summary>
    public RunNotFoundException(string runId)
        : base($"run '{runId}' does not exist")
    {
        RunId = runId;
    }

    /// <summary>The run id.</summary>
    [Id(0)]
    public string RunId { get; }
}
