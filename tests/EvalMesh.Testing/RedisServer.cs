using System.Diagnostics;
using System.Net.Sockets;

namespace EvalMesh.Testing;

/// <summary>A real redis-server on a free loopback port, in a temporary folder, for one test class.</summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _folder;

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
        var start = new ProcessStartInfo("redis-server")
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", folder })
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new RedisServer(process, folder, port);
        await Poll.UntilAsync(async () =>
        {
            using var client = new TcpClient();
            await client.ConnectAsync("127.0.0.1", port);
            return true;
        }, TimeSpan.FromSeconds(20), $"redis-server on port {port}");
        return server;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        Directory.Delete(_folder, recursive: true);
    }
}
