using System.Diagnostics;
using System.Net.Sockets;

namespace EvalMesh.Testing;

/// <summary>
/// A real redis-server on a free loopback port, in a temporary folder, for one test class. It keeps an append-only
/// file, so that a restart finds its data again.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly string _folder;
    private Process _process;

    private RedisServer(Process process, string folder, int port)
    {
        _process = process;
        _folder = folder;
        Port = port;
    }

    /// <summary>The port it listens on.</summary>
    public int Port { get; }

    /// <summary>The connection string, such as <c>127.0.0.1:6391</c>.</summary>
    public string Address => $"127.0.0.1:{Port}";

    /// <summary>Starts redis-server (installed by tests/prerequisites.sh) and waits until it accepts connections.</summary>
    public static async Task<RedisServer> StartAsync()
    {
        var port = FreePort.Next();
        var folder = Directory.CreateTempSubdirectory("evalmesh-redis-").FullName;
        var server = new RedisServer(Launch(folder, port), folder, port);
        await server.WaitUntilReadyAsync();
        return server;
    }

    /// <summary>Kills the server (SIGKILL), as a crash would; <see cref="RestartAsync"/> brings it back.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
    }

    /// <summary>Starts the server again on the same port and data, after <see cref="Kill"/>.</summary>
    public async Task RestartAsync()
    {
        _process.Dispose();
        _process = Launch(_folder, Port);
        await WaitUntilReadyAsync();
    }

    private static Process Launch(string folder, int port)
    {
        var start = new ProcessStartInfo("redis-server")
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--dir", folder })
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private Task WaitUntilReadyAsync() => Poll.UntilAsync(async () =>
    {
        if (_process.HasExited)
        {
            throw new ProcessExitedException($"redis-server on port {Port}", _process.ExitCode);
        }

        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", Port);
        return true;
    }, TimeSpan.FromSeconds(20), $"redis-server on port {Port}");

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        Kill();
        _process.Dispose();
        Directory.Delete(_folder, recursive: true);
        return ValueTask.CompletedTask;
    }
}
