using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using EvalMesh.Testing;

namespace EvalMesh.Cluster.Tests;

/// <summary>A completion through the gateway that takes longer than Orleans' response timeout, made short (1 s) here rather than the generation long.</summary>
public sealed class GatewayTimeoutTests : IAsyncLifetime
{
    private static readonly TimeSpan ResponseTimeout = TimeSpan.FromSeconds(1);

    private readonly string _folder = Directory.CreateTempSubdirectory("evalmesh-gateway-timeout-").FullName;
    private SiloProcess _silo = null!;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _silo = await SiloProcess.StartEmbeddedAsync(
        Path.Combine(_folder, "data"),
        new Dictionary<string, string> { ["EVALMESH_CACHE"] = Path.Combine(_folder, "cache"), ["EvalMesh__ResponseTimeout"] = ResponseTimeout.ToString() });

    public async ValueTask DisposeAsync()
    {
        await _silo.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    private static object Completion(int maxTokens) => new { model = "tiny-random", prompt = "Count to a thousand:", max_tokens = maxTokens };

    [Fact]
    public async Task CompletionLongerThanTheResponseTimeout_Completes()
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var response = await _silo.Http.PostAsJsonAsync("/v1/completions", Completion(8000), Token);
        var elapsed = watch.Elapsed;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(Token);
        Assert.Equal("length", body.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(8000, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.True(elapsed > ResponseTimeout, $"the generation took {elapsed}, not longer than the response timeout: it tests nothing");
    }
}
