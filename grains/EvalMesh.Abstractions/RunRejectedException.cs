namespace EvalMesh.Abstractions;

/// <summary>A run the cluster will not start: it exceeds a limit, or names files outside the allowed folders.</summary>
[GenerateSerializer, Alias("evalmesh.run-rejected")]
public sealed class RunRejectedException : Exception
{
    /// <summary>Creates the exception with the reason, which names the setting involved.</summary>
    public RunRejectedException(string message)
        : base(message)
    {
    }
}
