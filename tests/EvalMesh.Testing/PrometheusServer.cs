using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

namespace EvalMesh.Testing;

/// <summary>A real Prometheus server (Debian's package, installed by tests/prerequisites.sh) on a free loopback port.</summary>
public sealed class PrometheusServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _folder;

    private PrometheusServer(Process process, string folder, int port)
    {
        _process = process;
        _folder = folder;
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>A client for its HTTP API.</summary>
    public HttpClient Http { get; }

    /// <summary>Starts Prometheus with a configuration and waits until it is ready.</summary>
    public static async Task<PrometheusServer> StartAsync(string configuration)
    {
        var port = FreePort.Next();
        var folder = Directory.CreateTempSubdirectory("evalmesh-prometheus-").FullName;
        var config = Path.Combine(folder, "prometheus.yml");
        await File.WriteAllTextAsync(config, configuration);
        var start = new ProcessStartInfo("prometheus")
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { $"--config.file={config}", $"--storage.tsdb.path={Path.Combine(folder, "data")}", $"--web.listen-address=127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}", "--log.level=warn" })
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("prometheus did not start");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new PrometheusServer(process, folder, port);
        await Poll.UntilAsync(
            async () => process.HasExited ? throw new ProcessExitedException($"prometheus on port {port}", process.ExitCode) : (await server.Http.GetAsync("/-/ready")).IsSuccessStatusCode,
            TimeSpan.FromSeconds(30),
            $"prometheus on port {port}");
        return server;
    }

    /// <summary>Evaluates an expression at every step of a time range (as a Grafana panel does); returns the API's answer.</summary>
    public async Task<JsonElement> QueryRangeAsync(string expression, DateTimeOffset start, DateTimeOffset end, TimeSpan step, CancellationToken cancellationToken)
    {
        var query = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["query"] = expression,
            ["start"] = start.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
            ["end"] = end.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
            ["step"] = step.TotalSeconds.ToString(CultureInfo.InvariantCulture),
        });
        using var response = await Http.PostAsync("/api/v1/query_range", query, cancellationToken);
        return await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
    }

    /// <summary>Evaluates an expression now; returns the result vector (empty when there is none).</summary>
    public async Task<IReadOnlyList<JsonElement>> QueryAsync(string expression, CancellationToken cancellationToken)
    {
        using var response = await Http.PostAsync("/api/v1/query", new FormUrlEncodedContent(new Dictionary<string, string> { ["query"] = expression }), cancellationToken);
        var answer = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
        return answer.GetProperty("status").GetString() == "success" ? [.. answer.GetProperty("data").GetProperty("result").EnumerateArray()] : [];
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        Directory.Delete(_folder, recursive: true);
    }
}
