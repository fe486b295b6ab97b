using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using EvalMesh.Testing;

namespace EvalMesh.Cluster.Tests;

/// <summary>
/// One embedded silo process for every gateway test: tests run one at a time in it, and each leaves nothing another
/// relies on (a test that needs an adapter cold evicts it first; metrics are read as deltas).
/// </summary>
public sealed class GatewaySilo : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("evalmesh-gateway-").FullName;

    public SiloProcess Silo { get; private set; } = null!;

    /// <summary>What the silo printed until it was ready.</summary>
    public string StartupLog { get; private set; } = string.Empty;

    public async ValueTask InitializeAsync()
    {
        Silo = await SiloProcess.StartEmbeddedAsync(Path.Combine(_folder, "data"), new Dictionary<string, string> { ["EVALMESH_CACHE"] = Path.Combine(_folder, "cache") });
        StartupLog = Silo.Log;
    }

    public async ValueTask DisposeAsync()
    {
        await Silo.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    /// <summary>
    /// Unloads the tiny model's adapters (through the REST API) until the silo holds none, so that the next request
    /// for one finds it cold. The evict call finds holders through the residency directory, which hears of a load a
    /// moment after it, hence the loop; the silo's own gauge says when none is left.
    /// </summary>
    public Task EvictAdaptersAsync() => Poll.UntilAsync(
        async () =>
        {
            foreach (var adapter in new[] { "adapter-1", "adapter-2" })
            {
                using var evicted = await Silo.Http.PostAsync($"/api/adapters/tiny-random/{adapter}/evict", null, TestContext.Current.CancellationToken);
                evicted.EnsureSuccessStatusCode();
            }

            return await Silo.MetricAsync("evalmesh_adapters_resident") == 0;
        },
        TimeSpan.FromSeconds(30),
        "the silo to hold no adapter");
}

/// <summary>The OpenAI-compatible gateway and the REST API of an embedded silo process, over real HTTP.</summary>
public sealed class GatewayTests(GatewaySilo gateway) : IClassFixture<GatewaySilo>
{
    private readonly SiloProcess _silo = gateway.Silo;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static object Chat(string model, bool stream = false) => new
    {
        model,
        messages = new[] { new { role = "user", content = "Which messages mention BigQuery?" } },
        max_tokens = 6,
        stream,
    };

    [Fact]
    public void WithoutKeys_OnLoopback_TheSiloServesAnyone_AndSaysSoAtStartUp() =>
        Assert.Contains("No API keys are configured (EvalMesh:Security:ApiKeys): the REST API and the gateway serve any caller that reaches http://127.0.0.1:", gateway.StartupLog, StringComparison.Ordinal);

    [Fact]
    public async Task Models_ListTheBuiltInTinyModelAndAdapters()
    {
        var models = await _silo.Http.GetFromJsonAsync<JsonElement>("/v1/models", Token);
        var ids = models.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()).ToList();
        Assert.Equal(["tiny", "tiny-random", "tiny-random:adapter-1", "tiny-random:adapter-2", "tiny:adapter-1", "tiny:adapter-2"], ids);
    }

    [Fact]
    public async Task ChatCompletion_IsRoutedToTheAdapter_AndSaysWhereAndWhetherItWasResident()
    {
        await gateway.EvictAdaptersAsync();
        var first = await _silo.Http.PostAsJsonAsync("/v1/chat/completions", Chat("tiny-random:adapter-1"), Token);
        var second = await _silo.Http.PostAsJsonAsync("/v1/chat/completions", Chat("tiny-random:adapter-1"), Token);
        var other = await _silo.Http.PostAsJsonAsync("/v1/chat/completions", Chat("tiny-random:adapter-2"), Token);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var a = await first.Content.ReadFromJsonAsync<JsonElement>(Token);
        var b = await second.Content.ReadFromJsonAsync<JsonElement>(Token);
        var c = await other.Content.ReadFromJsonAsync<JsonElement>(Token);
        Assert.Equal("chat.completion", a.GetProperty("object").GetString());
        Assert.Equal(6, a.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        var text = a.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString();
        Assert.Equal(text, b.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        Assert.NotEqual(text, c.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("false", first.Headers.GetValues("x-evalmesh-adapter-resident").Single());
        Assert.Equal("true", second.Headers.GetValues("x-evalmesh-adapter-resident").Single());
        Assert.StartsWith("S127.0.0.1:", first.Headers.GetValues("x-evalmesh-silo").Single());
        Assert.True(b.GetProperty("evalmesh").GetProperty("adapter_resident").GetBoolean());
    }

    [Fact]
    public async Task Metrics_ArePrometheusText_WithOrleansAndProcessMeters_AndNoPrivateDiagnostics()
    {
        await _silo.Http.PostAsJsonAsync("/v1/chat/completions", Chat("tiny-random"), Token);
        var response = await _silo.Http.GetAsync("/metrics", Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        var text = await response.Content.ReadAsStringAsync(Token);
        Assert.Contains("\nprocess_cpu_seconds_total ", text, StringComparison.Ordinal);
        Assert.Matches(@"\nmicrosoft_orleans_orleans_catalog_activations(\{[^}]*\})? [1-9]", text);
        Assert.DoesNotContain("private_internaldiagnostics", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Streaming_SendsServerSentEventsThatAddUpToTheAnswer()
    {
        var whole = await (await _silo.Http.PostAsJsonAsync("/v1/chat/completions", Chat("tiny-random"), Token)).Content.ReadFromJsonAsync<JsonElement>(Token);
        var response = await _silo.Http.PostAsJsonAsync("/v1/chat/completions", Chat("tiny-random", stream: true), Token);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        Assert.StartsWith("S127.0.0.1:", response.Headers.GetValues("x-evalmesh-silo").Single());
        await gateway.EvictAdaptersAsync();
        var cold = await _silo.Http.PostAsJsonAsync("/v1/chat/completions", Chat("tiny-random:adapter-2", stream: true), Token);
        var warm = await _silo.Http.PostAsJsonAsync("/v1/chat/completions", Chat("tiny-random:adapter-2", stream: true), Token);
        Assert.Equal(["false", "true"], [.. new[] { cold, warm }.Select(r => r.Headers.GetValues("x-evalmesh-adapter-resident").Single())]);
        var events = (await response.Content.ReadAsStringAsync(Token)).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e["data: ".Length..]).RootElement).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
        var text = string.Concat(chunks.Select(c => c.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var p) ? p.GetString() : string.Empty));
        Assert.Equal(whole.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString(), text);
        Assert.Equal("length", chunks[^1].GetProperty("choices")[0].GetProperty("finish_reason").GetString());

        var completion = await _silo.Http.PostAsJsonAsync("/v1/completions", new { model = "tiny-random", prompt = "Hello", max_tokens = 3 }, Token);
        var body = await completion.Content.ReadFromJsonAsync<JsonElement>(Token);
        Assert.Equal("text_completion", body.GetProperty("object").GetString());
        Assert.Equal(3, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Streaming_SendsTokensAsTheyAreGenerated_AndAClientThatLeavesStopsTheGeneration()
    {
        object Completion(bool stream) => new { model = "tiny-random", prompt = "Count to a thousand:", max_tokens = 8000, stream };
        var whole = await (await _silo.Http.PostAsJsonAsync("/v1/completions", Completion(stream: false), Token)).Content.ReadFromJsonAsync<JsonElement>(Token);
        Assert.Equal("length", whole.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        var before = await MetricAsync("evalmesh_inference_generated_tokens_total");

        // Read the first event, then hang up (a client that drains nothing: by default .NET reads up to 1 MB of an
        // abandoned response to reuse the connection). Had the answer been generated whole before it was sent, or the
        // generation gone on without a listener, all 8,000 tokens would be counted.
        using (var hangsUp = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = _silo.Http.BaseAddress })
        using (var response = await hangsUp.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = JsonContent.Create(Completion(stream: true)) }, HttpCompletionOption.ResponseHeadersRead, Token))
        {
            using var events = new StreamReader(await response.Content.ReadAsStreamAsync(Token));
            var first = await events.ReadLineAsync(Token) ?? string.Empty;
            Assert.StartsWith("data: {", first, StringComparison.Ordinal);
            Assert.NotEmpty(JsonDocument.Parse(first["data: ".Length..]).RootElement.GetProperty("choices")[0].GetProperty("text").GetString()!);
        }

        await Poll.UntilAsync(async () => await MetricAsync("evalmesh_inference_queue_depth_requests", "state=\"running\"") == 0, TimeSpan.FromSeconds(30), "the model host to stop generating");
        Assert.InRange(await MetricAsync("evalmesh_inference_generated_tokens_total") - before, 1, 7999);
    }

    [Fact]
    public async Task ManyChoices_EachSamplesWithItsOwnSeed_AndTheUsageCountsThePromptOnce()
    {
        async Task<JsonElement> CompleteAsync(object request) =>
            await (await _silo.Http.PostAsJsonAsync("/v1/chat/completions", request, Token)).Content.ReadFromJsonAsync<JsonElement>(Token);
        object Sampled(int n, int seed, double topP = 1) => new
        {
            model = "tiny-random:adapter-1",
            messages = new[] { new { role = "user", content = "Which messages mention BigQuery?" } },
            max_tokens = 6,
            temperature = 1.5,
            top_p = topP,
            seed,
            n,
        };
        static string Text(JsonElement choice) => choice.GetProperty("message").GetProperty("content").GetString()!;

        var three = await CompleteAsync(Sampled(3, seed: 7));
        var choices = three.GetProperty("choices").EnumerateArray().ToList();
        Assert.Equal([0, 1, 2], choices.Select(c => c.GetProperty("index").GetInt32()));
        for (var i = 0; i < 3; i++)
        {
            var alone = await CompleteAsync(Sampled(1, seed: 7 + i));
            Assert.Equal(Text(alone.GetProperty("choices")[0]), Text(choices[i]));
            Assert.Equal(alone.GetProperty("usage").GetProperty("prompt_tokens").GetInt32(), three.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        }

        Assert.True(choices.Select(Text).Distinct().Count() > 1, "seeds 7, 8 and 9 sampled the same text");
        Assert.Equal(18, three.GetProperty("usage").GetProperty("completion_tokens").GetInt32());

        // A nucleus of (almost) nothing but the likeliest token is greedy, whatever the temperature and seed.
        var greedy = Text((await CompleteAsync(Chat("tiny-random:adapter-1"))).GetProperty("choices")[0]);
        var nucleus = await CompleteAsync(Sampled(3, seed: 7, topP: 1e-6));
        Assert.All(nucleus.GetProperty("choices").EnumerateArray(), c => Assert.Equal(greedy, Text(c)));
    }

    [Fact]
    public async Task StreamedChoices_AddUpToTheWholeAnswers_AndUsageComesLastWhenAskedFor()
    {
        object Request(bool stream, bool? includeUsage) => new Dictionary<string, object?>
        {
            ["model"] = "tiny-random",
            ["prompt"] = "Count to ten:",
            ["max_tokens"] = 5,
            ["temperature"] = 1.0,
            ["seed"] = 3,
            ["n"] = 2,
            ["stream"] = stream,
            ["stream_options"] = includeUsage is { } include ? new { include_usage = include } : null,
        };
        async Task<List<JsonElement>> StreamAsync(bool? includeUsage)
        {
            var response = await _silo.Http.PostAsJsonAsync("/v1/completions", Request(stream: true, includeUsage), Token);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var events = (await response.Content.ReadAsStringAsync(Token)).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal("data: [DONE]", events[^1]);
            return [.. events[..^1].Select(e => JsonDocument.Parse(e["data: ".Length..]).RootElement)];
        }

        var whole = await (await _silo.Http.PostAsJsonAsync("/v1/completions", Request(stream: false, null), Token)).Content.ReadFromJsonAsync<JsonElement>(Token);
        var chunks = await StreamAsync(includeUsage: true);
        for (var index = 0; index < 2; index++)
        {
            var mine = chunks.SelectMany(c => c.GetProperty("choices").EnumerateArray()).Where(c => c.GetProperty("index").GetInt32() == index).ToList();
            Assert.Equal(whole.GetProperty("choices")[index].GetProperty("text").GetString(), string.Concat(mine.Select(c => c.GetProperty("text").GetString())));
            Assert.Equal("length", mine[^1].GetProperty("finish_reason").GetString());
            Assert.StartsWith("S127.0.0.1:", mine[^1].GetProperty("evalmesh").GetProperty("silo").GetString());
        }

        Assert.Equal(0, chunks[^1].GetProperty("choices").GetArrayLength());
        Assert.Equal(whole.GetProperty("usage").ToString(), chunks[^1].GetProperty("usage").ToString());
        Assert.Single(chunks, c => c.TryGetProperty("usage", out _));
        Assert.DoesNotContain(await StreamAsync(includeUsage: false), c => c.TryGetProperty("usage", out _));
        Assert.DoesNotContain(await StreamAsync(includeUsage: null), c => c.TryGetProperty("usage", out _));
    }

    [Fact]
    public async Task Logprobs_OfChatAndTextCompletions_SpellTheAnswer_WholeAndStreamed()
    {
        async Task<JsonElement> PostAsync(string path, object request) =>
            await (await _silo.Http.PostAsJsonAsync(path, request, Token)).Content.ReadFromJsonAsync<JsonElement>(Token);
        var messages = new[] { new { role = "user", content = "Which messages mention BigQuery?" } };

        var chat = (await PostAsync("/v1/chat/completions", new { model = "tiny-random:adapter-2", messages, max_tokens = 8, logprobs = true, top_logprobs = 2 })).GetProperty("choices")[0];
        var content = chat.GetProperty("logprobs").GetProperty("content").EnumerateArray().ToList();
        Assert.Equal(chat.GetProperty("message").GetProperty("content").GetString(), string.Concat(content.Select(t => t.GetProperty("token").GetString())));
        Assert.All(content, t =>
        {
            var top = t.GetProperty("top_logprobs").EnumerateArray().ToList();
            Assert.Equal(2, top.Count);
            Assert.Equal(t.GetProperty("logprob").GetDouble(), top[0].GetProperty("logprob").GetDouble());
            Assert.Equal(System.Text.Encoding.UTF8.GetBytes(t.GetProperty("token").GetString()!), t.GetProperty("bytes").EnumerateArray().Select(b => (byte)b.GetInt32()));
        });
        Assert.Equal(JsonValueKind.Null, (await PostAsync("/v1/chat/completions", Chat("tiny-random:adapter-2"))).GetProperty("choices")[0].GetProperty("logprobs").ValueKind);

        var whole = (await PostAsync("/v1/completions", new { model = "tiny-random", prompt = "Count to ten:", max_tokens = 8, logprobs = 1 })).GetProperty("choices")[0];
        var logprobs = whole.GetProperty("logprobs");
        var tokens = logprobs.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!).ToList();
        Assert.Equal(whole.GetProperty("text").GetString(), string.Concat(tokens));
        Assert.Equal(tokens.Select((_, i) => tokens.Take(i).Sum(t => t.Length)), logprobs.GetProperty("text_offset").EnumerateArray().Select(o => o.GetInt32()));
        Assert.Equal(tokens.Count, logprobs.GetProperty("token_logprobs").GetArrayLength());
        Assert.All(logprobs.GetProperty("top_logprobs").EnumerateArray(), top => Assert.Single(top.EnumerateObject()));

        // Streamed, each chunk carries the log probabilities of its own tokens, with offsets that go on across chunks.
        var response = await _silo.Http.PostAsJsonAsync("/v1/completions", new { model = "tiny-random", prompt = "Count to ten:", max_tokens = 8, logprobs = 1, stream = true }, Token);
        var chunks = (await response.Content.ReadAsStringAsync(Token)).Split("\n\n", StringSplitOptions.RemoveEmptyEntries)[..^1]
            .Select(e => JsonDocument.Parse(e["data: ".Length..]).RootElement.GetProperty("choices")[0])
            .Where(c => c.GetProperty("logprobs").ValueKind == JsonValueKind.Object)
            .Select(c => c.GetProperty("logprobs"))
            .ToList();
        Assert.True(chunks.Count > 1, "one chunk for eight tokens");
        Assert.Equal(tokens, chunks.SelectMany(c => c.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!)));
        Assert.Equal(logprobs.GetProperty("text_offset").ToString(), new JsonArray([.. chunks.SelectMany(c => c.GetProperty("text_offset").EnumerateArray().Select(o => (JsonNode)o.GetInt32()))]).ToJsonString());
    }

    // Which fields are refused is GatewayRequestTests' (in-process); this is how the gateway answers a refusal.
    [Fact]
    public async Task AFieldThatWouldChangeTheAnswerButIsNotHonoured_Is400InOpenAisErrorShape_NamingIt()
    {
        const string body = """{"model":"tiny-random","messages":[{"role":"user","content":"x"}],"max_tokens":2,"presence_penalty":0.5}""";
        var response = await _silo.Http.PostAsync("/v1/chat/completions", new StringContent(body, System.Text.Encoding.UTF8, "application/json"), Token);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>(Token)).GetProperty("error");
        Assert.Equal("presence_penalty", error.GetProperty("param").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
    }

    [Fact]
    public async Task DefaultValuesOfFieldsNotHonoured_AndNulls_Pass()
    {
        const string body = """
            {"model":"tiny-random","messages":[{"role":"user","content":"x"}],"max_tokens":2,"logprobs":false,"top_logprobs":null,
             "tools":[],"response_format":{"type":"text"},"presence_penalty":0,"frequency_penalty":0,"logit_bias":{},"n":1,
             "top_p":1,"user":"someone","stream_options":null,"seed":null}
            """;
        var response = await _silo.Http.PostAsync("/v1/chat/completions", new StringContent(body, System.Text.Encoding.UTF8, "application/json"), Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task OpenAisOwnNodeSdk_ListsCompletesStreamsAndFailsAsItExpects()
    {
        var sdk = RepoPaths.Under("tests/EvalMesh.Cluster.Tests/openai-sdk");
        Assert.True(Directory.Exists(Path.Combine(sdk, "node_modules")), $"{sdk} has no node_modules: run tests/prerequisites.sh");
        var before = await MetricAsync("evalmesh_inference_generated_tokens_total");

        var run = await ProgramRunner.RunAsync("node", [Path.Combine(sdk, "check.mjs"), _silo.Http.BaseAddress!.ToString().TrimEnd('/')]);

        Assert.True(run.ExitCode == 0, run.Stdout + run.Stderr);
        Assert.Equal(["models", "chat", "chat-stream", "chat-stream-helper", "choices", "logprobs", "completions", "errors", "hang-up"], run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l["ok ".Length..]));

        // The hang-up scenario left a 4,000-token stream after three pieces: had the generation gone on, it would count.
        await Poll.UntilAsync(async () => await MetricAsync("evalmesh_inference_queue_depth_requests", "state=\"running\"") == 0, TimeSpan.FromSeconds(30), "the model host to stop generating");
        Assert.InRange(await MetricAsync("evalmesh_inference_generated_tokens_total") - before, 1, 3999);
    }

    private Task<double> MetricAsync(string name, params string[] filters) => gateway.Silo.MetricAsync(name, filters);

    [Fact]
    public async Task UnknownModel_Is404InOpenAisErrorShape_AndMalformedBodiesAre400()
    {
        var unknown = await _silo.Http.PostAsJsonAsync("/v1/chat/completions", Chat("tiny-random:adapter-9"), Token);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        var error = (await unknown.Content.ReadFromJsonAsync<JsonElement>(Token)).GetProperty("error");
        Assert.Equal("model_not_found", error.GetProperty("code").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Contains("tiny-random:adapter-9", error.GetProperty("message").GetString());

        foreach (var body in new[] { "{not json", "[]", """{"model":"tiny-random"}""", """{"model":"tiny-random","messages":[{"role":"user","content":"x"}],"max_tokens":-1}""" })
        {
            var response = await _silo.Http.PostAsync("/v1/chat/completions", new StringContent(body, System.Text.Encoding.UTF8, "application/json"), Token);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("invalid_request_error", (await response.Content.ReadFromJsonAsync<JsonElement>(Token)).GetProperty("error").GetProperty("type").GetString());
        }
    }

    [Fact]
    public async Task RestApi_StartsARun_StreamsItsResults_AndRejectsBadConfigs()
    {
        var cellsBefore = await MetricAsync("evalmesh_cells_total", "endpoint=\"echo\"", "format=\"csv\"");
        var created = await _silo.Http.PostAsync("/api/runs", new StringContent(TestConfigs.SmallEchoRun), Token);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>(Token)).GetProperty("id").GetString()!;
        JsonElement status = default;
        await Poll.UntilAsync(async () => (status = await _silo.Http.GetFromJsonAsync<JsonElement>($"/api/runs/{id}", Token)).GetProperty("state").GetString() == "completed", TimeSpan.FromMinutes(1), "the run to complete");
        Assert.Equal(5, status.GetProperty("total").GetInt32());
        Assert.Equal(5, status.GetProperty("completed").GetInt32());
        var lines = (await _silo.Http.GetStringAsync($"/api/runs/{id}/results", Token)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(5, lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("cellId").GetString()).Distinct().Count());

        // A run compared with itself: every cell paired, nothing changed.
        var compared = Assert.Single((await _silo.Http.GetFromJsonAsync<JsonElement>($"/api/runs/{id}/compare/{id}", Token)).EnumerateArray());
        Assert.Equal(5, compared.GetProperty("paired").GetInt32());
        Assert.Equal("same", compared.GetProperty("verdict").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await _silo.Http.GetAsync($"/api/runs/{id}/compare/nope", Token)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await _silo.Http.GetAsync($"/api/runs/{id}/compare/{id}?alpha=0", Token)).StatusCode);

        // The silo's metrics count the stored cells by outcome, format and endpoint.
        Assert.Equal(5, await MetricAsync("evalmesh_cells_total", "endpoint=\"echo\"", "format=\"csv\"") - cellsBefore);
        var metrics = (await _silo.Http.GetStringAsync("/metrics", Token)).Split('\n');
        Assert.Contains(metrics, l => l.StartsWith("evalmesh_prompt_tokens_total{", StringComparison.Ordinal) && l.Contains("tokenizer=\"o200k_base\"", StringComparison.Ordinal));
        Assert.Contains(metrics, l => l.StartsWith("evalmesh_cell_latency_seconds_bucket{", StringComparison.Ordinal));

        var bad = await _silo.Http.PostAsync("/api/runs", new StringContent(TestConfigs.SmallEchoRun.Replace("formats: [csv]", "formats: [csvv]", StringComparison.Ordinal)), Token);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("unknown format 'csvv'", (await bad.Content.ReadFromJsonAsync<JsonElement>(Token)).GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await _silo.Http.GetAsync("/api/runs/nope", Token)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _silo.Http.DeleteAsync($"/api/runs/{id}", Token)).StatusCode);
    }
}
