namespace EvalMesh.Cli;

/// <summary>A run that ended failed (it could not go on, such as when no cell could be stored for too long).</summary>
internal sealed class RunFailedException(string runId, string? reason) : Exception($"run {runId} failed: {reason ?? "no reason given"}; after fixing the cause, 'evalmesh run --resume {runId}' carries on");
