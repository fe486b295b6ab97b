using System.Collections.Concurrent;
using EvalMesh.Testing;

namespace EvalMesh.Cli.Tests;

/// <summary>
/// Every entry of the bad-input corpus run through the real CLI (<c>dotnet exec evalmesh.dll run CONFIG</c>), one process
/// per entry, a few at a time: most entries fail in a fraction of a second, but those that only the silo can judge (a
/// dataset, a suite, an adapter) start the embedded silo first, and spend most of their seconds waiting on it. The
/// first case to ask starts them all, in the manifest's order; each case then checks its own process's result.
/// </summary>
public sealed class BadInputCliRuns : IDisposable
{
    private readonly ConcurrentDictionary<string, Task<ProgramResult>> _runs = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _slots = new(Math.Max(2, 2 * Environment.ProcessorCount));
    private readonly Lock _gate = new();

    /// <summary>The corpus, copied once; each entry runs with its own <c>EVALMESH_HOME</c> under it.</summary>
    public string Folder { get; } = BadInputCorpus.CopyToTemporaryFolder();

    /// <summary>The CLI's result for <paramref name="input"/>, started with the others on the first call.</summary>
    public Task<ProgramResult> ResultOf(BadInput input)
    {
        lock (_gate)
        {
            if (_runs.IsEmpty)
            {
                foreach (var entry in BadInputCorpus.Entries)
                {
                    _runs[entry.Entry] = RunAsync(entry);
                }
            }
        }

        return _runs[input.Entry];
    }

    public void Dispose()
    {
        // Every process has ended before the folder goes (each case awaited its own).
        Task.WaitAll([.. _runs.Values]);
        _slots.Dispose();
        Directory.Delete(Folder, recursive: true);
    }

    private async Task<ProgramResult> RunAsync(BadInput input)
    {
        await _slots.WaitAsync();
        try
        {
            var home = Path.Combine(Folder, "home", input.Entry);
            return await CliRunner.RunAsync(Folder, new Dictionary<string, string> { ["EVALMESH_HOME"] = home }, "run", Path.Combine(Folder, input.Config));
        }
        finally
        {
            _slots.Release();
        }
    }
}

/// <summary>
/// The bad-input corpus (tests/EvalMesh.Testing/BadInputs) through the real CLI: `evalmesh run CONFIG` exits with the
/// entry's code and prints its one line, naming file, line, column and key, never a stack trace.
/// </summary>
public sealed class BadInputCliTests(BadInputCliRuns runs) : IClassFixture<BadInputCliRuns>
{
    private const string Prefix = "evalmesh: error: ";

    public static TheoryData<string> Entries() => [.. BadInputCorpus.Entries.Select(e => e.Entry)];

    [Theory]
    [MemberData(nameof(Entries))]
    public async Task Run_BadInput_ExitsWithItsCodeAndOneClearLine(string entry)
    {
        var input = BadInputCorpus.Get(entry);
        var config = Path.Combine(runs.Folder, input.Config);
        var result = await runs.ResultOf(input);

        Assert.DoesNotContain("   at ", result.Stdout + result.Stderr);
        Assert.Equal(input.ExitCode, result.ExitCode);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith(Prefix, line);
        Assert.True(input.Matches(line[Prefix.Length..], config, runs.Folder), $"expected: {input.Message}\nactual:   {line[Prefix.Length..]}");
    }
}
