using System.Collections.Concurrent;
using System.Diagnostics;

namespace EvalMesh.Testing;

/// <summary>A real silo process (EvalMesh.Silo), started with arguments, reachable over HTTP on a free port.</summary>
public sealed class SiloProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _log = new();
    private volatile bool _listening;

    private SiloProcess(Process process, int httpPort)
    {
        _process = process;
        HttpPort = httpPort;
        Http = new HttpClient(new ExitAware(this)) { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"), Timeout = TimeSpan.FromMinutes(2) };
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
        StartAsync(["--data-dir", dataDirectory], environment, workingDirectory);

    /// <summary>Starts a silo of a cluster formed through Redis, on free ports.</summary>
    public static Task<SiloProcess> StartClusteredAsync(string redis, string clusterId, IReadOnlyDictionary<string, string>? environment = null) =>
        StartAsync(["--cluster", "redis", "--redis", redis, "--cluster-id", clusterId, "--service-id", clusterId, "--advertise", "127.0.0.1"], environment);

    /// <summary>
    /// Starts a silo on free ports and waits until it listens and /healthz answers; relative paths in what it is sent
    /// are <paramref name="workingDirectory"/>'s (by default the repository root). A port found free can be taken by
    /// another test's server before the silo binds it: the silo then exits, and it is started again on other ports.
    /// That the silo's own log says it listens on its port proves that the server answering is this one.
    /// </summary>
    private static async Task<SiloProcess> StartAsync(string[] args, IReadOnlyDictionary<string, string>? environment, string? workingDirectory = null)
    {
        for (var attempt = 1; ; attempt++)
        {
            var silo = Launch(args, environment, workingDirectory);
            try
            {
                await Poll.UntilAsync(async () => silo.HasExited || (silo._listening && (await silo.Http.GetAsync("/healthz")).IsSuccessStatusCode), TimeSpan.FromSeconds(90), $"silo on port {silo.HttpPort}");
            }
            catch (TimeoutException ex)
            {
                await silo.DisposeAsync();
                throw new TimeoutException($"{ex.Message}\n{silo.Log}", ex);
            }

            if (!silo.HasExited)
            {
                return silo;
            }

            var log = silo.Log;
            await silo.DisposeAsync();
            if (attempt == 3 || !log.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException($"the silo exited while starting:\n{log}");
            }
        }
    }

    private static SiloProcess Launch(string[] args, IReadOnlyDictionary<string, string>? environment, string? workingDirectory)
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
        foreach (var arg in args.Concat(FreePorts()).Concat(["--urls", $"http://127.0.0.1:{httpPort}"]))
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information";
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

    /// <summary>The sum of a metric's series at the silo's <c>/metrics</c>, over the lines that contain every filter (such as <c>kind="overloaded"</c>).</summary>
    public async Task<double> MetricAsync(string name, params string[] filters) =>
        (await Http.GetStringAsync("/metrics")).Split('\n')
            .Where(l => (l.StartsWith(name + "{", StringComparison.Ordinal) || l.StartsWith(name + " ", StringComparison.Ordinal)) && filters.All(f => l.Contains(f, StringComparison.Ordinal)))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));

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
            _listening |= line.Contains($"Now listening on: http://127.0.0.1:{HttpPort}", StringComparison.Ordinal);
            _log.Enqueue(line);
            while (_log.Count > 400 && _log.TryDequeue(out _))
            {
            }
        }
    }

    // A request the silo cannot answer because it has exited fails with ProcessExitedException and the silo's log, which
    // a poll does not wait out.
    private sealed class ExitAware(SiloProcess silo) : DelegatingHandler(new SocketsHttpHandler())
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            try
            {
                return await base.SendAsync(request, cancellationToken);
            }
            catch (HttpRequestException ex) when (silo.HasExited)
            {
                throw new ProcessExitedException($"the silo on port {silo.HttpPort}", silo.ExitCode, silo.Log, ex);
            }
        }
    }

    private static string[] FreePorts() =>
        ["--silo-port", FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture), "--gateway-port", FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture)];
}
