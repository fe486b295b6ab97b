using System.ClientModel;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using EvalMesh.Testing;
using OpenAI;
using OpenAI.Chat;

namespace EvalMesh.Cluster.Tests;

/// <summary>
/// The gateway and runs of a silo under load, over real HTTP: its model host decodes one sequence at a time and lets one
/// more request wait.
/// </summary>
public sealed class GatewayLoadTests : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("evalmesh-gateway-load-").FullName;
    private SiloProcess _silo = null!;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _silo = await SiloProcess.StartEmbeddedAsync(
        Path.Combine(_folder, "data"),
        new Dictionary<string, string>
        {
            ["EVALMESH_CACHE"] = Path.Combine(_folder, "cache"),
            ["EvalMesh__ModelHost__MaxBatchSequences"] = "1",
            ["EvalMesh__ModelHost__MaxWaitingRequests"] = "1",
        });

    public async ValueTask DisposeAsync()
    {
        await _silo.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    private static object Completion(int maxTokens, bool stream = false, string prompt = "Count to a thousand:") => new { model = "tiny-random", prompt, max_tokens = maxTokens, stream };

    // Starts a long streamed completion and returns once its first text has arrived, so that it holds the only batch slot.
    private async Task<(HttpClient Client, HttpResponseMessage Response, StreamReader Events)> StartLongStreamAsync()
    {
        var client = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = _silo.Http.BaseAddress };
        var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = JsonContent.Create(Completion(8000, stream: true)) }, HttpCompletionOption.ResponseHeadersRead, Token);
        var events = new StreamReader(await response.Content.ReadAsStreamAsync(Token));
        Assert.StartsWith("data: {", await events.ReadLineAsync(Token) ?? string.Empty, StringComparison.Ordinal);
        return (client, response, events);
    }

    [Fact]
    public async Task QueueBeyondItsBound_Is429WithRetryAfter_AndTheOfficialOpenAiSdkRetriesUntilItIsServed()
    {
        var overloadedBefore = await _silo.MetricAsync("evalmesh_inference_errors_total", "kind=\"overloaded\"");
        var (client, response, events) = await StartLongStreamAsync();
        var waiting = _silo.Http.PostAsJsonAsync("/v1/completions", Completion(4), Token);
        await Poll.UntilAsync(async () => await _silo.MetricAsync("evalmesh_inference_queue_depth_requests", "state=\"waiting\"") == 1, TimeSpan.FromSeconds(30), "the second request to wait");

        var refused = await _silo.Http.PostAsJsonAsync("/v1/completions", Completion(4), Token);
        Assert.Equal((HttpStatusCode)429, refused.StatusCode);
        Assert.True(refused.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), $"Retry-After: {refused.Headers.RetryAfter}");
        var error = (await refused.Content.ReadFromJsonAsync<JsonElement>(Token)).GetProperty("error");
        Assert.Equal("model_overloaded", error.GetProperty("code").GetString());

        // OpenAI's own .NET client meets the same 429, waits as told and asks again; the stream's client leaves meanwhile.
        var chat = new ChatClient("tiny-random", new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(_silo.Http.BaseAddress!, "/v1") });
        var answer = chat.CompleteChatAsync([new UserChatMessage("Which messages mention BigQuery?")], new ChatCompletionOptions { MaxOutputTokenCount = 4 }, Token);
        await Poll.UntilAsync(async () => await _silo.MetricAsync("evalmesh_inference_errors_total", "kind=\"overloaded\"") >= overloadedBefore + 2, TimeSpan.FromSeconds(30), "the SDK's first attempt to be refused");
        events.Dispose();
        response.Dispose();
        client.Dispose();

        Assert.Equal(HttpStatusCode.OK, (await waiting).StatusCode);
        var completion = (await answer).Value;
        Assert.Equal(4, completion.Usage.OutputTokenCount);
    }

    [Fact]
    public async Task StreamedClientThatLeaves_FreesItsSequence_SoTheNextRequestIsServed()
    {
        var before = await _silo.MetricAsync("evalmesh_inference_generated_tokens_total");
        var (client, response, events) = await StartLongStreamAsync();
        events.Dispose();
        response.Dispose();
        client.Dispose();

        // One sequence at a time: had the left stream kept its slot, this would wait for all 8,000 of its tokens.
        var next = await _silo.Http.PostAsJsonAsync("/v1/completions", Completion(4), Token);
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.InRange(await _silo.MetricAsync("evalmesh_inference_generated_tokens_total") - before, 5, 7999);
    }

    [Fact]
    public async Task SecondRequestWithTheSameLongPrefix_DecodesOnlyItsNewTokens()
    {
        var context = "Records:\n" + string.Concat(Enumerable.Range(1, 60).Select(i => $"message {i}: U0{i % 7}XYZ posted about BigQuery costs in #data-eng at 10:{i % 60:D2}\n"));
        object Chat(string question) => new { model = "tiny-random", messages = new[] { new { role = "user", content = context + question } }, max_tokens = 4 };
        await _silo.Http.PostAsJsonAsync("/v1/chat/completions", Chat("Question: who posted message 3?"), Token);

        var decodedBefore = await _silo.MetricAsync("evalmesh_inference_prompt_tokens_total");
        var second = await (await _silo.Http.PostAsJsonAsync("/v1/chat/completions", Chat("Question: which channel is message 41 in?"), Token)).Content.ReadFromJsonAsync<JsonElement>(Token);
        var decoded = await _silo.MetricAsync("evalmesh_inference_prompt_tokens_total") - decodedBefore;

        var usage = second.GetProperty("usage");
        var (prompt, cached) = (usage.GetProperty("prompt_tokens").GetInt32(), usage.GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32());
        Assert.InRange(cached, 500, prompt - 1);
        Assert.Equal(prompt - cached, decoded);
        Assert.True(second.GetProperty("evalmesh").GetProperty("prefix_reused").GetBoolean());
    }

    [Fact]
    public async Task EvalRunBeyondTheQueuesBound_WaitsForRoom_AndEveryCellGetsExactlyOneResult()
    {
        var overloadedBefore = await _silo.MetricAsync("evalmesh_inference_errors_total", "kind=\"overloaded\"");
        var config = TestConfigs.SmallRun("  - { name: tiny, type: llama, model: tiny-random, max-tokens: 8 }") + "\nrepeats: 2\nconcurrency: 8\n";
        var created = await _silo.Http.PostAsync("/api/runs", new StringContent(config), Token);
        Assert.True(created.StatusCode == HttpStatusCode.Created, $"{created.StatusCode}: {await created.Content.ReadAsStringAsync(Token)}");
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>(Token)).GetProperty("id").GetString();
        JsonElement status = default;
        await Poll.UntilAsync(async () => (status = await _silo.Http.GetFromJsonAsync<JsonElement>($"/api/runs/{id}", Token)).GetProperty("state").GetString() is "completed" or "failed", TimeSpan.FromMinutes(3), "the run to finish");

        Assert.Equal("completed", status.GetProperty("state").GetString());
        Assert.Equal(0, status.GetProperty("errors").GetInt32());
        var results = (await _silo.Http.GetStringAsync($"/api/runs/{id}/results", Token)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(status.GetProperty("total").GetInt32(), results.Select(r => JsonDocument.Parse(r).RootElement.GetProperty("cellId").GetString()).Distinct().Count());
        Assert.Equal(results.Length, status.GetProperty("total").GetInt32());
        Assert.True(await _silo.MetricAsync("evalmesh_inference_errors_total", "kind=\"overloaded\"") > overloadedBefore, "no cell was ever refused: the test did not reach the bound");
    }
}
