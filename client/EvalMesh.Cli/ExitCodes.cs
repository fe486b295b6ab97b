namespace EvalMesh.Cli;

/// <summary>What the CLI's exit codes mean.</summary>
internal static class ExitCodes
{
    /// <summary>Everything worked (and, for a run, every cell passed).</summary>
    public const int Ok = 0;

    /// <summary>A run finished but some cells failed or errored.</summary>
    public const int Failures = 1;

    /// <summary>The input was wrong: a file, a setting, a name. The message says which.</summary>
    public const int BadInput = 2;

    /// <summary>Something the user could not fix failed: an unreachable cluster, an I/O error.</summary>
    public const int Unavailable = 3;
}
