using System.Collections.Concurrent;
using System.Diagnostics;

namespace EvalMesh.Testing;

/// <summary>A real silo process (EvalMesh.Silo), started with arguments, reachable over HTTP on a free port.</summary>
public sealed class SiloProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _log = new();

    private SiloProcess(Process process, int httpPort)
    {
        _process = process;
        HttpPort = httpPort;
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"), Timeout = TimeSpan.FromMinutes(2) };
    }

    /// <summary>The HTTP port (REST, gateway, /healthz).</summary>
    public int HttpPort { get; }

    /// <summary>A client for the silo's HTTP endpoints.</summary>
    public HttpClient Http { get; }

    /// <summary>The process id.</summary>
    public int ProcessId => _process.Id;

    /// <summary>Whether the process has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>The exit code, once it has exited.</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>What the silo printed, for failure messages.</summary>
    public string Log => string.Join('\n', _log);

    /// <summary>Starts an embedded silo (localhost clustering, its own data folder) on free ports.</summary>
    public static Task<SiloProcess> StartEmbeddedAsync(string dataDirectory, IReadOnlyDictionary<string, string>? environment = null, string? workingDirectory = null) =>
        StartAsync(["--data-dir", dataDirectory, .. FreePorts()], environment, workingDirectory);

    /// <summary>Starts a silo of a cluster formed through Redis, on free ports.</summary>
    public static Task<SiloProcess> StartClusteredAsync(string redis, string clusterId, IReadOnlyDictionary<string, string>? environment = null) =>
        StartAsync(["--cluster", "redis", "--redis", redis, "--cluster-id", clusterId, "--service-id", clusterId, "--advertise", "127.0.0.1", .. FreePorts()], environment);

    /// <summary>Starts a silo and waits until /healthz answers; relative paths in what it is sent are <paramref name="workingDirectory"/>'s (by default the repository root).</summary>
    public static async Task<SiloProcess> StartAsync(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null, string? workingDirectory = null)
    {
        var httpPort = FreePort.Next();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? RepoPaths.Root,
        };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(RepoPaths.Silo);
        foreach (var arg in args.Concat(["--urls", $"http://127.0.0.1:{httpPort}"]))
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("the silo did not start");
        var silo = new SiloProcess(process, httpPort);
        process.OutputDataReceived += (_, e) => silo.Record(e.Data);
        process.ErrorDataReceived += (_, e) => silo.Record(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await Poll.UntilAsync(async () => !process.HasExited && (await silo.Http.GetAsync("/healthz")).IsSuccessStatusCode, TimeSpan.FromSeconds(90), $"silo on port {httpPort}");
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"{ex.Message}\n{silo.Log}", ex);
        }

        return silo;
    }

    /// <summary>Sends a request to the silo with an API key (<c>Authorization: Bearer KEY</c>), or none.</summary>
    public Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? apiKey, HttpContent? content = null, CancellationToken cancellationToken = default)
    {
        var request = new HttpRequestMessage(method, path) { Content = content };
        if (apiKey is not null)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", apiKey);
        }

        return Http.SendAsync(request, cancellationToken);
    }

    /// <summary>Kills the process at once (SIGKILL), as a crash would.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
    }

    /// <summary>Asks the process to stop (SIGTERM) and waits for it to exit.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        if (_process.HasExited)
        {
            return;
        }

        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill!.WaitForExitAsync();
        }

        using var deadline = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(deadline.Token);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        Kill();
        Http.Dispose();
        _process.Dispose();
        await Task.CompletedTask;
    }

    private void Record(string? line)
    {
        if (line is not null)
        {
            _log.Enqueue(line);
            while (_log.Count > 400 && _log.TryDequeue(out _))
            {
            }
        }
    }

    private static string[] FreePorts() =>
        ["--silo-port", FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture), "--gateway-port", FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture)];
}
