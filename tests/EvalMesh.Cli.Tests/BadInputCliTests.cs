using EvalMesh.Testing;

namespace EvalMesh.Cli.Tests;

/// <summary>
/// The bad-input corpus (tests/EvalMesh.Testing/BadInputs) through the real CLI: `evalmesh run CONFIG` exits with the
/// entry's code and prints its one line, naming file, line, column and key, never a stack trace.
/// </summary>
public sealed class BadInputCliTests : IDisposable
{
    private const string Prefix = "evalmesh: error: ";
    private readonly string _folder = BadInputCorpus.CopyToTemporaryFolder();

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    public static TheoryData<string> Entries() => [.. BadInputCorpus.Entries.Select(e => e.Entry)];

    [Theory]
    [MemberData(nameof(Entries))]
    public async Task Run_BadInput_ExitsWithItsCodeAndOneClearLine(string entry)
    {
        var input = BadInputCorpus.Get(entry);
        var config = Path.Combine(_folder, input.Config);
        var result = await CliRunner.RunAsync(_folder, new Dictionary<string, string> { ["EVALMESH_HOME"] = Path.Combine(_folder, "home") }, "run", config);

        Assert.DoesNotContain("   at ", result.Stdout + result.Stderr);
        Assert.Equal(input.ExitCode, result.ExitCode);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith(Prefix, line);
        Assert.True(input.Matches(line[Prefix.Length..], config, _folder), $"expected: {input.Message}\nactual:   {line[Prefix.Length..]}");
    }
}
