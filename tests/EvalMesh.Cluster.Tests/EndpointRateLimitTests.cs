using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using EvalMesh.Testing;
using Microsoft.AspNetCore.Http;

namespace EvalMesh.Cluster.Tests;

/// <summary>
/// An endpoint's rate limit, kept by the whole cluster: a real redis-server, three silo processes clustered through
/// it, and a 3,000-cell run against a loopback OpenAI-compatible endpoint (50 ms an answer, usage reported as the
/// prompt's characters / 4 and 2 completion tokens) under <c>rate-limit: { requests-per-minute: 600 }</c>. The endpoint
/// counts what arrives, each request and its tokens at the second it arrived. Half-way the silo holding the
/// endpoint's grain (the authority its successor must take over from without granting what the survivors still hold)
/// is killed. No window of 60 s may see more than the budget plus one lease's worth (the budget's rate over the one
/// second a silo may save up: 10 requests), and the run must keep at least 90% of the budget busy, before the kill and
/// after it. At 600 requests a minute the run takes five minutes: the test measures the properties at the scale they
/// are stated at, rather than a faster budget whose windows are too short to see a silo's death and recovery.
/// </summary>
[Collection<LongRunning>]
public sealed class EndpointRateLimitTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Cells = 3_000;
    private const int Budget = 600;
    private const int LeaseWorth = Budget / 60;
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan Latency = TimeSpan.FromMilliseconds(50);
    private readonly SiloProcessCluster _cluster = new("rate-limit");
    private ScriptedOpenAiServer _endpoint = null!;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _endpoint = await ScriptedOpenAiServer.StartAsync();
        _endpoint.Default = AnswerAsync;
        await _cluster.StartAsync(silos: 3);
    }

    public async ValueTask DisposeAsync()
    {
        await _cluster.DisposeAsync();
        await _endpoint.DisposeAsync();
    }

    [Fact]
    public async Task ThreeSilos_KeepEveryMinuteWithinTheBudgetAndOneLease_AndTheBudgetBusy_AlsoAfterTheAuthoritysSiloDies()
    {
        var clock = Stopwatch.StartNew();
        var runId = await StartAsync(_cluster.Silos[0]);
        await Poll.UntilAsync(async () => await CompletedAsync(_cluster.Silos[0], runId) >= Cells / 2, TimeSpan.FromMinutes(10), "half the run");

        // The victim holds the endpoint's grain (and whatever shards it runs).
        var holders = await Task.WhenAll(_cluster.Silos.Select(s => GrainsAsync(s, "modelendpoint")));
        var victim = _cluster.Silos[Math.Max(0, Array.FindIndex(holders, n => n > 0))];
        var shards = await GrainsAsync(victim, "evalshard");
        var killedAt = DateTimeOffset.UtcNow;
        victim.Kill();
        _cluster.Silos.Remove(victim);
        await victim.DisposeAsync();
        var survivor = _cluster.Silos[0];
        await Poll.UntilAsync(async () => (await Task.WhenAll(_cluster.Silos.Select(s => GrainsAsync(s, "modelendpoint")))).Sum() > 0, TimeSpan.FromMinutes(5), "the endpoint's grain on a survivor");
        var authorityBack = DateTimeOffset.UtcNow - killedAt;
        await Poll.UntilAsync(async () => (await StatusAsync(survivor, runId)).GetProperty("state").GetString() is "completed" or "failed", TimeSpan.FromMinutes(15), "the run to finish");
        var wall = clock.Elapsed;

        using var report = JsonDocument.Parse(await survivor.Http.GetStringAsync($"/api/runs/{runId}/report", Token));
        Assert.Equal("completed", report.RootElement.GetProperty("run").GetProperty("state").GetString());
        await RunChecks.AssertOneResultPerCellAsync(survivor, runId, report.RootElement, Cells);

        // What the endpoint saw, second by second.
        var arrivals = _endpoint.Requests.Select(r => (r.At, Tokens: PromptTokens(r.Body) + 2)).OrderBy(r => r.At).ToList();
        var times = arrivals.Select(a => a.At).ToList();
        var (first, last) = (times[0], times[^1]);
        var (most, mostAt) = MostInAnyWindow(times);
        var (mostBefore, _) = MostInAnyWindow([.. times.Where(t => t + Window <= killedAt)]);
        var (mostSince, _) = MostInAnyWindow([.. times.Where(t => t >= killedAt - Window)]);
        var busyBefore = Busy(times, first, killedAt);
        var busyAfter = Busy(times, killedAt, last);
        var seconds = arrivals.GroupBy(a => (long)(a.At - first).TotalSeconds).ToList();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"""
            {arrivals.Count:N0} requests for {Cells:N0} cells in {(last - first).TotalSeconds:0.0} s (test {wall.TotalSeconds:0} s); budget {Budget}/min, one lease's worth {LeaseWorth}
            most in any 60 s window: {most} (from {(mostAt - first).TotalSeconds:0.0} s); in windows before the kill: {mostBefore}; in windows reaching past it: {mostSince}
            busy: {busyBefore:P1} before the kill at {(killedAt - first).TotalSeconds:0.0} s (the silo holding the endpoint's grain, {shards} shard(s) on it), {busyAfter:P1} after it, {Busy(times, first, last):P1} overall; the grain was back on a survivor {authorityBack.TotalSeconds:0.0} s after the kill
            busiest second: {seconds.Max(s => s.Count())} requests, {seconds.Max(s => s.Sum(a => a.Tokens)):N0} tokens; mean {arrivals.Count / (last - first).TotalSeconds:0.00} requests/s, {arrivals.Sum(a => a.Tokens) / (last - first).TotalSeconds:N0} tokens/s
            requests in each 5 s from 10 s before the kill (the budget's is {Budget / 12}): {string.Join(' ', PerFiveSeconds(times, killedAt - TimeSpan.FromSeconds(10), last))}
            """));

        Assert.True(most <= Budget + LeaseWorth, $"{most} requests in the 60 s from {(mostAt - first).TotalSeconds:0.0} s: over the budget of {Budget} and one lease's worth ({LeaseWorth})");
        Assert.True(busyBefore >= 0.9, $"the budget was {busyBefore:P1} busy before the kill");
        Assert.True(busyAfter >= 0.9, $"the budget was {busyAfter:P1} busy after the kill");
    }

    // The endpoint answers after 50 ms, counting the prompt at four characters a token.
    private static async Task AnswerAsync(HttpContext context)
    {
        var prompt = PromptTokens(ScriptedOpenAiServer.RequestBody(context));
        await Task.Delay(Latency, context.RequestAborted);
        await context.Response.WriteAsJsonAsync(new
        {
            id = "chatcmpl-rate-limit",
            @object = "chat.completion",
            model = "gpt-test",
            choices = new[] { new { index = 0, message = new { role = "assistant", content = "OK" }, finish_reason = "stop" } },
            usage = new { prompt_tokens = prompt, completion_tokens = 2, total_tokens = prompt + 2 },
        });
    }

    private static int PromptTokens(JsonObject body) => body["messages"]!.AsArray().Sum(m => m!["content"]!.GetValue<string>().Length) / 4;

    // The share of the budget's requests between two moments that were sent.
    private static double Busy(List<DateTimeOffset> times, DateTimeOffset from, DateTimeOffset to) =>
        times.Count(t => t >= from && t < to) / (Budget / Window.TotalSeconds * (to - from).TotalSeconds);

    // Arrivals in each 5 s from one moment to another.
    private static IEnumerable<int> PerFiveSeconds(List<DateTimeOffset> times, DateTimeOffset from, DateTimeOffset to) =>
        Enumerable.Range(0, (int)((to - from).TotalSeconds / 5) + 1)
            .Select(i => times.Count(t => t >= from.AddSeconds(5 * i) && t < from.AddSeconds(5 * (i + 1))));

    // The most arrivals in any window of 60 s, and where it starts (two pointers over the sorted times).
    private static (int Most, DateTimeOffset At) MostInAnyWindow(List<DateTimeOffset> times)
    {
        var (most, at) = (0, DateTimeOffset.MinValue);
        for (int first = 0, last = 0; last < times.Count; last++)
        {
            while (times[last] - times[first] >= Window)
            {
                first++;
            }

            if (last - first + 1 > most)
            {
                (most, at) = (last - first + 1, times[first]);
            }
        }

        return (most, at);
    }

    private async Task<string> StartAsync(SiloProcess silo)
    {
        // 100 cases × 3 formats × 10 repeats; nothing from the response cache, so that every cell asks.
        var config = $$"""
            description: a rate-limited endpoint across three silos
            datasets:
              - name: slack
                generate: { kind: slack, messages: 12, seed: 19, cases-per-category: 20 }
            suites:
              - name: slack
                dataset: slack
                generated: true
            formats: [oneline-json, csv, toon]
            tokenizers: [o200k_base]
            endpoints:
              - name: gpt
                type: openai
                base-url: {{_endpoint.BaseUrl}}
                model: gpt-test
                max-tokens: 2
                cache: false
                rate-limit: { requests-per-minute: {{Budget}} }
                cost: { input-per-mtok: 2.5, output-per-mtok: 10 }
            repeats: 10
            """;
        using var response = await silo.Http.PostAsync("/api/runs", new StringContent(config, System.Text.Encoding.UTF8, "application/yaml"), Token);
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync(Token));
        var started = await response.Content.ReadFromJsonAsync<JsonElement>(Token);
        Assert.Equal(Cells, started.GetProperty("total").GetInt32());
        return started.GetProperty("id").GetString()!;
    }

    private static async Task<JsonElement> StatusAsync(SiloProcess silo, string runId) =>
        await silo.Http.GetFromJsonAsync<JsonElement>($"/api/runs/{runId}", Token);

    private static async Task<int> CompletedAsync(SiloProcess silo, string runId) => (await StatusAsync(silo, runId)).GetProperty("completed").GetInt32();

    // Activations of a grain type on one silo, from Orleans' own meter at /metrics.
    private static async Task<int> GrainsAsync(SiloProcess silo, string grainType)
    {
        var match = Regex.Match(await silo.Http.GetStringAsync("/metrics", Token), $@"\nmicrosoft_orleans_orleans_grains\{{grain_type=""{grainType}""\}} (\d+)");
        return match.Success ? int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }
}
