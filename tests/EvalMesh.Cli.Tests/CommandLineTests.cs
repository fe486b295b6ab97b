using EvalMesh.Testing;

namespace EvalMesh.Cli.Tests;

/// <summary>
/// A command line that does not parse is bad input: exit code 2 (never 1, which means failed cells) and one line that
/// names the closest option or command and points at <c>--help</c>, not the whole help. <c>--server</c> and
/// <c>--api-key-env</c> are checked the same way, and a server that cannot be reached is exit code 3.
/// </summary>
public sealed class CommandLineTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("evalmesh-command-line-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    public static TheoryData<string[], string> Mistakes() => new()
    {
        { ["run", "x.yaml", "--ouput", "o"], "unknown option '--ouput' (did you mean '--out'?); see 'evalmesh run --help'" },
        { ["run", "--limt", "3", "x.yaml"], "unknown option '--limt' (did you mean '--limit'?); see 'evalmesh run --help'" },
        { ["run", "x.yaml", "--out=o", "--no-cahce"], "unknown option '--no-cahce' (did you mean '--no-cache'?); see 'evalmesh run --help'" },
        { ["run", "x.yaml", "--frobnicate"], "unknown option '--frobnicate'; see 'evalmesh run --help'" },
        { ["rnu", "x.yaml"], "unknown command 'rnu' (did you mean 'run'?); see 'evalmesh --help'" },
        { ["adapters", "lst"], "unknown command 'lst' (did you mean 'list'?); see 'evalmesh adapters --help'" },
        { ["compare", "a", "b", "--alpah", "0.1"], "unknown option '--alpah' (did you mean '--alpha'?); see 'evalmesh compare --help'" },
        { ["status", "a", "b"], "unknown argument 'b'; see 'evalmesh status --help'" },
        { ["status"], "Required argument missing for command: 'status'; see 'evalmesh status --help'" },
        { ["runs", "--sever", "http://127.0.0.1:1"], "unknown option '--sever' (did you mean '--server'?); see 'evalmesh runs --help'" },
    };

    [Theory]
    [MemberData(nameof(Mistakes))]
    public async Task UnknownOptionOrArgument_ExitsTwo_WithOneLineNamingTheClosest(string[] args, string expected)
    {
        var result = await CliRunner.RunAsync(_folder, args);
        Assert.Equal(2, result.ExitCode);
        Assert.Equal($"evalmesh: error: {expected}", Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        Assert.Equal(string.Empty, result.Stdout);
    }

    [Fact]
    public async Task Help_StillShowsTheHelp_AndExitsZero()
    {
        var result = await CliRunner.RunAsync(_folder, "run", "--help");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("--server", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("--api-key-env", result.Stdout, StringComparison.Ordinal);
        Assert.Equal(string.Empty, result.Stderr);
    }

    [Theory]
    [InlineData("ftp://example.com", "evalmesh: error: '--server': 'ftp://example.com' is not an http(s) URL")]
    [InlineData("not a url", "evalmesh: error: '--server': 'not a url' is not an http(s) URL")]
    public async Task Server_NotAnHttpUrl_ExitsTwo(string server, string expected)
    {
        var result = await CliRunner.RunAsync(_folder, "runs", "--server", server);
        Assert.Equal((2, expected), (result.ExitCode, result.Stderr.TrimEnd('\n')));
    }

    [Fact]
    public async Task ServerAndCluster_Together_ExitTwo()
    {
        var result = await CliRunner.RunAsync(_folder, "runs", "--server", "http://127.0.0.1:1", "--cluster", "redis");
        Assert.Equal((2, "evalmesh: error: '--server': give either --server (HTTP) or --cluster (an Orleans client), not both"), (result.ExitCode, result.Stderr.TrimEnd('\n')));
    }

    [Fact]
    public async Task ServerThatIsNotThere_ExitsThree_SayingItIsUnavailable()
    {
        // A port that was free a moment ago: nothing listens on it.
        var result = await CliRunner.RunAsync(_folder, "status", "some-run", "--server", $"http://127.0.0.1:{FreePort.Next()}");
        Assert.Equal(3, result.ExitCode);
        Assert.StartsWith("evalmesh: error: the server is unavailable: ", Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
    }
}
