namespace EvalMesh.Testing;

/// <summary>A process a test talks to has exited: waiting for it longer cannot help (<see cref="Poll.IsTransient"/>).</summary>
public sealed class ProcessExitedException(string process, int exitCode, string? log = null, Exception? inner = null)
    : Exception($"{process} has exited with code {exitCode}" + (string.IsNullOrEmpty(log) ? string.Empty : $"; what it printed last:\n{log}"), inner)
{
    /// <summary>Its exit code.</summary>
    public int ExitCode { get; } = exitCode;
}
