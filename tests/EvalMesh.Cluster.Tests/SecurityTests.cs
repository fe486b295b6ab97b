using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using EvalMesh.Inference.Tiny;
using EvalMesh.Testing;

namespace EvalMesh.Cluster.Tests;

/// <summary>
/// A silo process with API keys of each scope, a rate limit, a body limit, a cell limit and an allowed model folder,
/// and a run that uses an endpoint key, all over real HTTP.
/// </summary>
public sealed class SecuredSilo : IAsyncLifetime
{
    public const string ReadKey = "read-key-5f3a9c1e7b2d4680";
    public const string RunKey = "run-key-8e1b6d3f9a2c5074";
    public const string AdminKey = "admin-key-2c7e9a4f1d6b3850";
    public const string LimitedKey = "limited-key-4a8d2f6c9e1b7305";

    /// <summary>A read key for waiting on runs: every key has its own <see cref="RequestsPerMinute"/>, so polling with it
    /// spends none of the other keys' requests, which the tests of this class share.</summary>
    public const string WatchKey = "watch-key-7d3b1e9f5a2c8064";
    public const string EndpointSecret = "sk-endpoint-secret-93f1c7a2e8d4b605";
    public const int RequestsPerMinute = 30;
    public const int MaxBodyBytes = 64 * 1024;
    public const int MaxCellsPerRun = 40;

    private readonly string _folder = Directory.CreateTempSubdirectory("evalmesh-security-").FullName;

    public SiloProcess Silo { get; private set; } = null!;

    public ScriptedOpenAiServer Endpoint { get; private set; } = null!;

    /// <summary>The one folder models and adapters may be read from.</summary>
    public string Models => Path.Combine(_folder, "models");

    /// <summary>The silo's data folder (grain state and results).</summary>
    public string Data => Path.Combine(_folder, "data");

    /// <summary>The generated tiny model, outside <see cref="Models"/>.</summary>
    public TinyModelFiles Tiny { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        var cache = Path.Combine(_folder, "cache");
        Tiny = TinyModel.EnsureRandomCached(cache);
        Directory.CreateDirectory(Models);
        Endpoint = await ScriptedOpenAiServer.StartAsync();
        var keys = new[] { ("reader", ReadKey, "Read"), ("runner", RunKey, "Run"), ("admin", AdminKey, "Admin"), ("limited", LimitedKey, "Read"), ("watcher", WatchKey, "Read") };
        var environment = new Dictionary<string, string>
        {
            ["EVALMESH_CACHE"] = cache,
            ["EVALMESH_TEST_SECRET"] = EndpointSecret,
            ["Logging__LogLevel__Default"] = "Debug",
            ["EvalMesh__ModelRoots__0"] = Models,
            ["EvalMesh__MaxCellsPerRun"] = MaxCellsPerRun.ToString(CultureInfo.InvariantCulture),
            ["EvalMesh__Security__RequestsPerMinute"] = RequestsPerMinute.ToString(CultureInfo.InvariantCulture),
            ["EvalMesh__Security__MaxRequestBodyBytes"] = MaxBodyBytes.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var (i, (name, key, scope)) in keys.Index())
        {
            environment[$"EvalMesh__Security__ApiKeys__{i}__Name"] = name;
            environment[$"EvalMesh__Security__ApiKeys__{i}__Key"] = key;
            environment[$"EvalMesh__Security__ApiKeys__{i}__Scope"] = scope;
        }

        Silo = await SiloProcess.StartEmbeddedAsync(Data, environment);
    }

    public async ValueTask DisposeAsync()
    {
        await Silo.DisposeAsync();
        await Endpoint.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    /// <summary>Sends a request with an API key (or none).</summary>
    public Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? key, HttpContent? content = null) =>
        Silo.SendAsync(method, path, key, content, TestContext.Current.CancellationToken);
}

/// <summary>API keys and scopes, limits, allowed model folders and secrets, against a real silo process.</summary>
public sealed class SecurityTests(SecuredSilo secured) : IClassFixture<SecuredSilo>
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static JsonContent Chat(string model) => JsonContent.Create(new { model, messages = new[] { new { role = "user", content = "Hello" } }, max_tokens = 3 });

    private static StringContent Yaml(string yaml) => new(yaml, System.Text.Encoding.UTF8, "application/yaml");

    [Fact]
    public async Task NoKeyOrAWrongKey_Is401_InProblemDetailsForRest_AndOpenAisShapeForTheGateway()
    {
        foreach (var key in new[] { null, "not-a-key-0000000000000" })
        {
            using var rest = await secured.SendAsync(HttpMethod.Get, "/api/runs", key);
            Assert.Equal(HttpStatusCode.Unauthorized, rest.StatusCode);
            Assert.Equal("application/problem+json", rest.Content.Headers.ContentType?.MediaType);
            Assert.Equal(401, (await rest.Content.ReadFromJsonAsync<JsonElement>(Token)).GetProperty("status").GetInt32());

            using var gateway = await secured.SendAsync(HttpMethod.Post, "/v1/chat/completions", key, Chat("tiny-random"));
            Assert.Equal(HttpStatusCode.Unauthorized, gateway.StatusCode);
            Assert.Equal("invalid_api_key", (await gateway.Content.ReadFromJsonAsync<JsonElement>(Token)).GetProperty("error").GetProperty("code").GetString());
        }

        // Health and metrics stay open for probes and Prometheus.
        Assert.Equal(HttpStatusCode.OK, (await secured.SendAsync(HttpMethod.Get, "/healthz", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await secured.SendAsync(HttpMethod.Get, "/metrics", null)).StatusCode);
    }

    [Fact]
    public async Task Scopes_ReadReads_RunAlsoRunsAndInfers_AdminAlsoManagesAdapters()
    {
        var register = () => JsonContent.Create(new { model = "tiny-random", name = "scoped", path = secured.Tiny.Adapters[0] });
        Assert.Equal(HttpStatusCode.OK, (await secured.SendAsync(HttpMethod.Get, "/api/runs", SecuredSilo.ReadKey)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await secured.SendAsync(HttpMethod.Get, "/v1/models", SecuredSilo.ReadKey)).StatusCode);

        using var readInfers = await secured.SendAsync(HttpMethod.Post, "/v1/chat/completions", SecuredSilo.ReadKey, Chat("tiny-random"));
        Assert.Equal(HttpStatusCode.Forbidden, readInfers.StatusCode);
        var error = (await readInfers.Content.ReadFromJsonAsync<JsonElement>(Token)).GetProperty("error");
        Assert.Equal("insufficient_scope", error.GetProperty("code").GetString());
        Assert.Contains("'reader'", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, (await secured.SendAsync(HttpMethod.Post, "/api/runs", SecuredSilo.ReadKey, Yaml("{}"))).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await secured.SendAsync(HttpMethod.Post, "/v1/chat/completions", SecuredSilo.RunKey, Chat("tiny-random"))).StatusCode);
        using var runRegisters = await secured.SendAsync(HttpMethod.Post, "/api/adapters", SecuredSilo.RunKey, register());
        Assert.Equal(HttpStatusCode.Forbidden, runRegisters.StatusCode);
        Assert.Equal("application/problem+json", runRegisters.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.Forbidden, (await secured.SendAsync(HttpMethod.Post, "/api/adapters/tiny-random/adapter-1/evict", SecuredSilo.RunKey)).StatusCode);

        // The admin may register, but only files under the allowed folder.
        using var outside = await secured.SendAsync(HttpMethod.Post, "/api/adapters", SecuredSilo.AdminKey, register());
        Assert.Equal(HttpStatusCode.BadRequest, outside.StatusCode);
        Assert.Contains("EvalMesh:ModelRoots", await outside.Content.ReadAsStringAsync(Token), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ModelFolder_AllowsFilesInside_RefusesTraversalAndSymlinksThatLeadOut()
    {
        var inside = Path.Combine(secured.Models, "support.gguf");
        File.Copy(secured.Tiny.Adapters[1], inside, overwrite: true);
        var link = Path.Combine(secured.Models, "escape.gguf");
        File.Delete(link);
        File.CreateSymbolicLink(link, secured.Tiny.Adapters[0]);
        var linkedFolder = Path.Combine(secured.Models, "elsewhere");
        if (!Directory.Exists(linkedFolder))
        {
            Directory.CreateSymbolicLink(linkedFolder, Path.GetDirectoryName(secured.Tiny.Adapters[0])!);
        }

        async Task<HttpStatusCode> Register(string name, string path) =>
            (await secured.SendAsync(HttpMethod.Post, "/api/adapters", SecuredSilo.AdminKey, JsonContent.Create(new { model = "tiny-random", name, path }))).StatusCode;

        Assert.Equal(HttpStatusCode.Created, await Register("support", inside));
        Assert.Equal(HttpStatusCode.BadRequest, await Register("traversal", Path.Combine(secured.Models, Path.GetRelativePath(secured.Models, secured.Tiny.Adapters[0]))));
        Assert.Equal(HttpStatusCode.BadRequest, await Register("link", link));
        Assert.Equal(HttpStatusCode.BadRequest, await Register("linked-folder", Path.Combine(linkedFolder, "adapter-1.gguf")));

        // A run naming a local file outside the folder is refused before it starts.
        using var run = await secured.SendAsync(HttpMethod.Post, "/api/runs", SecuredSilo.RunKey, Yaml(TestConfigs.SmallRun($"  - {{ name: local, type: llama, model: tiny-random, adapter: {secured.Tiny.Adapters[0]} }}")));
        Assert.Equal(HttpStatusCode.BadRequest, run.StatusCode);
        Assert.Contains("EvalMesh:ModelRoots", await run.Content.ReadAsStringAsync(Token), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Limits_RequestRate_BodySize_AndCellsPerRun()
    {
        HttpStatusCode last = default;
        for (var i = 0; i <= SecuredSilo.RequestsPerMinute && last != HttpStatusCode.TooManyRequests; i++)
        {
            using var response = await secured.SendAsync(HttpMethod.Get, "/v1/models", SecuredSilo.LimitedKey);
            last = response.StatusCode;
            if (last == HttpStatusCode.TooManyRequests)
            {
                Assert.Equal(SecuredSilo.RequestsPerMinute, i);
                Assert.True(response.Headers.RetryAfter?.Delta > TimeSpan.Zero);
                Assert.Equal("rate_limit_exceeded", (await response.Content.ReadFromJsonAsync<JsonElement>(Token)).GetProperty("error").GetProperty("code").GetString());
            }
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, last);
        Assert.Equal(HttpStatusCode.OK, (await secured.SendAsync(HttpMethod.Get, "/v1/models", SecuredSilo.ReadKey)).StatusCode);

        using var huge = await secured.SendAsync(HttpMethod.Post, "/api/runs", SecuredSilo.RunKey, Yaml("# " + new string('x', SecuredSilo.MaxBodyBytes)));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.StatusCode);

        // 5 cases × 1 format × 9 endpoints = 45 cells, over the limit of 40.
        var endpoints = string.Join('\n', Enumerable.Range(1, 9).Select(i => $"  - {{ name: echo-{i}, type: echo }}"));
        using var tooBig = await secured.SendAsync(HttpMethod.Post, "/api/runs", SecuredSilo.RunKey, Yaml(TestConfigs.SmallRun(endpoints)));
        Assert.Equal(HttpStatusCode.BadRequest, tooBig.StatusCode);
        Assert.Contains("EvalMesh:MaxCellsPerRun", await tooBig.Content.ReadAsStringAsync(Token), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Secrets_NeverAppearInLogsResultsReportsMetricsOrStoredState()
    {
        var endpoint = $"  - {{ name: remote, type: openai, base-url: {secured.Endpoint.BaseUrl}, model: scripted, api-key-env: EVALMESH_TEST_SECRET }}";
        using var started = await secured.SendAsync(HttpMethod.Post, "/api/runs", SecuredSilo.RunKey, Yaml(TestConfigs.SmallRun(endpoint)));
        Assert.Equal(HttpStatusCode.Created, started.StatusCode);
        var run = (await started.Content.ReadFromJsonAsync<JsonElement>(Token)).GetProperty("id").GetString()!;
        // Polled with the watch key, slowly enough to stay within its requests a minute however long the run takes.
        await Poll.UntilAsync(
            async () => (await (await secured.SendAsync(HttpMethod.Get, $"/api/runs/{run}", SecuredSilo.WatchKey)).Content.ReadFromJsonAsync<JsonElement>(Token)).GetProperty("state").GetString() == "completed",
            TimeSpan.FromMinutes(2),
            "the run to complete",
            interval: TimeSpan.FromMinutes(1.1) / SecuredSilo.RequestsPerMinute);

        // The endpoint got its key, so the secret was really in play.
        Assert.Contains(secured.Endpoint.Requests, r => r.Authorization == $"Bearer {SecuredSilo.EndpointSecret}");

        var seen = new Dictionary<string, string>
        {
            ["silo log"] = secured.Silo.Log,
            ["results"] = await (await secured.SendAsync(HttpMethod.Get, $"/api/runs/{run}/results", SecuredSilo.AdminKey)).Content.ReadAsStringAsync(Token),
            ["report"] = await (await secured.SendAsync(HttpMethod.Get, $"/api/runs/{run}/report", SecuredSilo.AdminKey)).Content.ReadAsStringAsync(Token),
            ["metrics"] = await (await secured.SendAsync(HttpMethod.Get, "/metrics", null)).Content.ReadAsStringAsync(Token),
        };
        foreach (var file in Directory.EnumerateFiles(secured.Data, "*", SearchOption.AllDirectories))
        {
            seen[file] = await File.ReadAllTextAsync(file, Token);
        }

        Assert.Contains("remote", seen["results"], StringComparison.Ordinal);
        foreach (var secret in new[] { SecuredSilo.EndpointSecret, SecuredSilo.ReadKey, SecuredSilo.RunKey, SecuredSilo.AdminKey, SecuredSilo.LimitedKey, SecuredSilo.WatchKey })
        {
            Assert.All(seen, where => Assert.False(where.Value.Contains(secret, StringComparison.Ordinal), $"a secret appears in {where.Key}"));
        }
    }

    [Fact]
    public async Task WithoutKeys_ASiloRefusesToListenBeyondLoopback()
    {
        var data = Directory.CreateTempSubdirectory("evalmesh-anonymous-").FullName;
        try
        {
            var port = FreePort.Next().ToString(CultureInfo.InvariantCulture);
            var result = await ProgramRunner.RunAsync(
                "dotnet",
                ["exec", RepoPaths.Silo, "--urls", $"http://0.0.0.0:{port}", "--data-dir", data, "--silo-port", FreePort.Next().ToString(CultureInfo.InvariantCulture), "--gateway-port", FreePort.Next().ToString(CultureInfo.InvariantCulture)]);
            Assert.Equal(2, result.ExitCode);
            Assert.Contains($"evalmesh-silo: error: no API keys (EvalMesh:Security:ApiKeys, environment variable EvalMesh__Security__ApiKeys__0__Key) while listening on http://0.0.0.0:{port}", result.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }
}
