namespace EvalMesh.Testing;

/// <summary>Runs the real evalmesh CLI in its own process, as a user would.</summary>
public static class CliRunner
{
    /// <summary>Runs <c>evalmesh</c> with arguments in a folder, with extra environment variables.</summary>
    public static Task<ProgramResult> RunAsync(string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args) =>
        ProgramRunner.RunAsync("dotnet", ["exec", RepoPaths.Cli, .. args], workingDirectory: workingDirectory, environment: environment);

    /// <summary>Runs <c>evalmesh</c> with arguments in a folder.</summary>
    public static Task<ProgramResult> RunAsync(string workingDirectory, params string[] args) => RunAsync(workingDirectory, null, args);
}
