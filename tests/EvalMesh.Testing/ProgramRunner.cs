using System.Diagnostics;

namespace EvalMesh.Testing;

/// <summary>What a program printed and returned.</summary>
/// <param name="ExitCode">Its exit code.</param>
/// <param name="Stdout">What it wrote to standard output.</param>
/// <param name="Stderr">What it wrote to standard error.</param>
public sealed record ProgramResult(int ExitCode, string Stdout, string Stderr);

/// <summary>Runs a program to its end in its own process, with a deadline.</summary>
public static class ProgramRunner
{
    /// <summary>Runs <paramref name="program"/> with arguments, feeding it <paramref name="input"/> on standard input if given.</summary>
    public static async Task<ProgramResult> RunAsync(
        string program,
        IEnumerable<string> args,
        string? input = null,
        string? workingDirectory = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory ?? RepoPaths.Root,
            RedirectStandardInput = input is not null,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input);
            process.StandardInput.Close();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        return new ProgramResult(process.ExitCode, await stdout, await stderr);
    }
}
