using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using EvalMesh.Testing;

namespace EvalMesh.Deployment.Tests;

/// <summary>
/// A silo process that has run a small eval (a LoRA adapter on the tiny model, echo, and an OpenAI-compatible endpoint
/// with a rate limit and a price that answers 429 once) and served gateway requests (some too long for the context window), and a real Prometheus
/// that scraped it every second throughout.
/// </summary>
public sealed class ObservedSilo : IAsyncLifetime
{
    /// <summary>How often Prometheus scrapes the silo.</summary>
    public static readonly TimeSpan ScrapeInterval = TimeSpan.FromSeconds(1);

    /// <summary>What Grafana's <c>$__rate_interval</c> is for that scrape interval (at least four scrapes).</summary>
    public static readonly TimeSpan RateInterval = 5 * ScrapeInterval;

    /// <summary>Cells in the eval (a third of them on the tiny model with adapter-1).</summary>
    public const int Cells = 30;

    /// <summary>Gateway requests with adapter-2 (two waves of two), and too long for the context window (one a wave).</summary>
    public const int GatewayAdapterRequests = 4, GatewayTooLong = 2;

    private readonly string _folder = Directory.CreateTempSubdirectory("evalmesh-dashboards-").FullName;
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ScriptedOpenAiServer _endpoint = null!;

    public SiloProcess Silo { get; private set; } = null!;

    public PrometheusServer Prometheus { get; private set; } = null!;

    /// <summary>When the traffic started and when the last scrape of it was in.</summary>
    public (DateTimeOffset Start, DateTimeOffset End) Window { get; private set; }

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        Silo = await SiloProcess.StartEmbeddedAsync(Path.Combine(_folder, "data"), new Dictionary<string, string> { ["EVALMESH_CACHE"] = Path.Combine(_folder, "cache") });

        // The endpoint answers 429 once, then holds its answers until Prometheus has seen the run in progress.
        _endpoint = await ScriptedOpenAiServer.StartAsync();
        _endpoint.Then(ScriptedOpenAiServer.Status(429, retryAfter: "0"));
        var answer = ScriptedOpenAiServer.Completion("https://example.slack.com/archives/C1/p1");
        _endpoint.Default = async context =>
        {
            await _release.Task.WaitAsync(context.RequestAborted);
            await answer(context);
        };

        // The committed prometheus.yml, pointed at this silo and scraping every second.
        var configuration = await File.ReadAllTextAsync(RepoPaths.Under("dashboards/prometheus.yml"), Token);
        Assert.Contains("scrape_interval: 15s", configuration, StringComparison.Ordinal);
        Assert.Contains("\"127.0.0.1:8080\"", configuration, StringComparison.Ordinal);
        Prometheus = await PrometheusServer.StartAsync(configuration
            .Replace("scrape_interval: 15s", $"scrape_interval: {ScrapeInterval.TotalSeconds}s", StringComparison.Ordinal)
            .Replace("\"127.0.0.1:8080\"", $"\"127.0.0.1:{Silo.HttpPort}\"", StringComparison.Ordinal));

        // Traffic comes in two waves with a scrape between them, so that every rate sees its counters grow.
        var start = DateTimeOffset.UtcNow.AddSeconds(-2);
        await GatewayTrafficAsync();
        await Poll.UntilAsync(async () => (await Prometheus.QueryAsync("sum(evalmesh_inference_request_duration_seconds_count) > 0", Token)).Count > 0, TimeSpan.FromSeconds(60), "a scrape of the first wave");
        var run = await StartRunAsync();
        await GatewayTrafficAsync();

        // An unfinished run's progress is only exported while it runs: the endpoint answers once Prometheus has it.
        await Poll.UntilAsync(async () => (await Prometheus.QueryAsync("evalmesh_run_cells{state=\"planned\"}", Token)).Count > 0, TimeSpan.FromSeconds(60), "a scrape of the run in progress");
        _release.SetResult();
        await Poll.UntilAsync(async () => (await Silo.Http.GetFromJsonAsync<JsonElement>($"/api/runs/{run}", Token)).GetProperty("state").GetString() == "completed", TimeSpan.FromMinutes(3), "the run to complete");
        await Poll.UntilAsync(async () => (await Prometheus.QueryAsync($"evalmesh_runs{{state=\"completed\"}} == 1 and on() sum(evalmesh_cells_total) == {Cells}", Token)).Count > 0, TimeSpan.FromSeconds(60), "a scrape of the finished run");

        // Rates need two samples within their interval: the window ends once Prometheus has scraped two intervals' worth
        // since it saw the run complete.
        var settled = $"evalmesh_runs{{state=\"completed\"}} offset {2 * RateInterval.TotalSeconds}s == 1";
        await Poll.UntilAsync(async () => (await Prometheus.QueryAsync(settled, Token)).Count > 0, TimeSpan.FromSeconds(60), "more scrapes after the run");
        Window = (start, DateTimeOffset.UtcNow);
    }

    public async ValueTask DisposeAsync()
    {
        _release.TrySetResult();
        await Prometheus.DisposeAsync();
        await _endpoint.DisposeAsync();
        await Silo.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    private async Task<string> StartRunAsync()
    {
        var config = $$$"""
            description: dashboards test
            datasets:
              - name: slack
                generate: { kind: slack, messages: 20, seed: 7, cases-per-category: 1 }
            suites:
              - name: slack
                dataset: slack
                generated: true
            formats: [oneline-json, csv]
            tokenizers: [o200k_base]
            endpoints:
              - name: tiny+adapter-1
                type: llama
                model: tiny-random
                adapter: adapter-1
                max-tokens: 6
              - name: echo
                type: echo
              - name: scripted
                type: openai
                base-url: {{{_endpoint.BaseUrl}}}
                model: scripted
                max-concurrency: 2
                rate-limit: { requests-per-minute: 6000, tokens-per-minute: 1000000, max-concurrency: 4 }
                cost: { input-per-mtok: 2.5, output-per-mtok: 10 }
            prompt: |
              Messages as {{format}}:
              {{context}}
              Question: {{question}}
              Answer:
            """;
        using var response = await Silo.Http.PostAsync("/api/runs", new StringContent(config, System.Text.Encoding.UTF8, "application/yaml"), Token);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>(Token)).GetProperty("id").GetString()!;
    }

    // One wave: two requests with adapter-2, one on the base model, one too long for the context window.
    private async Task GatewayTrafficAsync()
    {
        foreach (var model in new[] { "tiny-random:adapter-2", "tiny-random:adapter-2", "tiny-random" })
        {
            using var ok = await Silo.Http.PostAsJsonAsync("/v1/chat/completions", Chat(model, "Which messages mention BigQuery?"), Token);
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        using var tooLong = await Silo.Http.PostAsJsonAsync("/v1/chat/completions", Chat("tiny-random", string.Concat(Enumerable.Repeat("lorem ipsum dolor ", 12_000))), Token);
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        Assert.Equal("context_length_exceeded", (await tooLong.Content.ReadFromJsonAsync<JsonElement>(Token)).GetProperty("error").GetProperty("code").GetString());
    }

    private static object Chat(string model, string content) => new { model, messages = new[] { new { role = "user", content } }, max_tokens = 4 };
}

/// <summary>
/// The Grafana dashboards against the real thing: every PromQL expression of every panel is evaluated through a real
/// Prometheus's HTTP API over the time range of a silo's traffic, as Grafana would, and must parse and return data.
/// </summary>
public sealed partial class DashboardTests(ObservedSilo observed) : IClassFixture<ObservedSilo>
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static IEnumerable<string> DashboardFiles => Directory.GetFiles(RepoPaths.Under("dashboards"), "*.json").Order(StringComparer.Ordinal);

    [Fact]
    public async Task EveryPanelQuery_ParsesAndReturnsData()
    {
        var (start, end) = observed.Window;
        var failures = new List<string>();
        var queries = 0;
        foreach (var (dashboard, panel, expression) in PanelQueries())
        {
            queries++;
            var answer = await observed.Prometheus.QueryRangeAsync(Substitute(expression, end - start), start, end, ObservedSilo.ScrapeInterval, Token);
            if (answer.GetProperty("status").GetString() != "success")
            {
                failures.Add($"{dashboard} / {panel}: {answer.GetProperty("error").GetString()}: {expression}");
            }
            else if (!answer.GetProperty("data").GetProperty("result").EnumerateArray().SelectMany(series => series.GetProperty("values").EnumerateArray()).Any(point => point[1].GetString() != "NaN"))
            {
                failures.Add($"{dashboard} / {panel}: no data: {expression}");
            }
        }

        Assert.True(queries >= 50, $"only {queries} panel queries were found");
        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    [Fact]
    public async Task Metrics_CountWhatHappened()
    {
        async Task<double> Value(string expression) =>
            double.Parse((await observed.Prometheus.QueryAsync(expression, Token)).Single().GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);

        Assert.Equal(ObservedSilo.Cells / 3, await Value("sum(evalmesh_cells_total{endpoint=\"scripted\"})"));
        Assert.Equal(1, await Value("sum(evalmesh_endpoint_rate_limited_total{endpoint=\"scripted\"})"));
        Assert.Equal(1, await Value("sum(evalmesh_endpoint_retries_total{endpoint=\"scripted\",reason=\"rate_limited\"})"));
        Assert.Equal(ObservedSilo.GatewayTooLong, await Value("sum(evalmesh_inference_errors_total{kind=\"context_overflow\"})"));
        Assert.Equal(0, await Value("sum(evalmesh_endpoint_in_flight_requests)"));
        Assert.Equal(0, await Value("max(evalmesh_endpoint_circuit_open)"));

        // The 429 halved the scripted endpoint's limit (max-concurrency 2) to 1; the next success grew it back.
        Assert.Equal(2, await Value("evalmesh_endpoint_concurrency_limit_requests{endpoint=\"scripted\"}"));

        // Cluster-wide, from the endpoint's grain: ten answers and the 429 were sent, each answer counted 11 prompt and
        // 3 completion tokens (the scripted usage), which at 2.5 and 10 per million cost 0.000575; the leases stayed
        // within the limits.
        Assert.Equal(ObservedSilo.Cells / 3 + 1, await Value("sum(evalmesh_endpoint_used_requests_total{endpoint=\"scripted\"})"));
        Assert.Equal(ObservedSilo.Cells / 3 * 11, await Value("sum(evalmesh_endpoint_used_tokens_total{endpoint=\"scripted\",direction=\"input\"})"));
        Assert.Equal(ObservedSilo.Cells / 3 * 3, await Value("sum(evalmesh_endpoint_used_tokens_total{endpoint=\"scripted\",direction=\"output\"})"));
        Assert.Equal(ObservedSilo.Cells / 3 * ((11 * 2.5) + (3 * 10)) / 1e6, await Value("sum(evalmesh_endpoint_cost_total{endpoint=\"scripted\"})"), 12);
        Assert.Equal(6000, await Value("max(evalmesh_endpoint_limit_requests_per_minute{endpoint=\"scripted\"})"));
        Assert.InRange(await Value("max_over_time(evalmesh_endpoint_granted_requests_per_minute{endpoint=\"scripted\"}[1h])"), 1, 6000);
        Assert.InRange(await Value("max_over_time(evalmesh_endpoint_granted_concurrent_requests{endpoint=\"scripted\"}[1h])"), 1, 4);

        // Each adapter was loaded once; every request with an adapter is a hit or (at most once per adapter; the eval may
        // have prefetched its adapter) a miss.
        var adapterRequests = ObservedSilo.Cells / 3 + ObservedSilo.GatewayAdapterRequests;
        Assert.Equal(adapterRequests, await Value("sum(evalmesh_inference_request_duration_seconds_count{adapter=~\"adapter-.*\"})"));
        Assert.Equal(adapterRequests, await Value("sum(evalmesh_inference_time_to_first_token_seconds_count{adapter=~\"adapter-.*\"})"));
        Assert.Equal(2, await Value("sum(evalmesh_adapter_loads_total)"));
        Assert.Equal(2, await Value("evalmesh_adapters_resident"));
        Assert.Equal(adapterRequests, await Value("sum(evalmesh_adapter_hits_total) + sum(evalmesh_adapter_misses_total)"));
        Assert.InRange(await Value("sum(evalmesh_adapter_misses_total)"), 1, 2);
    }

    [Fact]
    public async Task TemplateVariables_FindTheirValues()
    {
        foreach (var file in DashboardFiles)
        {
            using var dashboard = JsonDocument.Parse(await File.ReadAllTextAsync(file, Token));
            foreach (var variable in dashboard.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray().Where(v => v.GetProperty("type").GetString() == "query"))
            {
                var match = LabelValues().Match(variable.GetProperty("definition").GetString()!);
                Assert.True(match.Success, $"{Path.GetFileName(file)}: variable {variable.GetProperty("name")} is not label_values(METRIC, LABEL)");
                var values = await observed.Prometheus.Http.GetFromJsonAsync<JsonElement>($"/api/v1/label/{match.Groups[2].Value}/values?match[]={Uri.EscapeDataString(match.Groups[1].Value)}", Token);
                Assert.NotEmpty(values.GetProperty("data").EnumerateArray());
            }
        }
    }

    [Fact]
    public async Task Dashboards_AreTemplatedByDataSource_SoTheyImportCleanly()
    {
        foreach (var file in DashboardFiles)
        {
            using var dashboard = JsonDocument.Parse(await File.ReadAllTextAsync(file, Token));
            var root = dashboard.RootElement;
            var name = Path.GetFileName(file);
            Assert.Contains(root.GetProperty("templating").GetProperty("list").EnumerateArray(), v => v.GetProperty("name").GetString() == "datasource" && v.GetProperty("type").GetString() == "datasource" && v.GetProperty("query").GetString() == "prometheus");
            Assert.StartsWith("evalmesh-", root.GetProperty("uid").GetString(), StringComparison.Ordinal);
            foreach (var panel in Panels(root).Where(p => p.GetProperty("type").GetString() != "row"))
            {
                Assert.True(panel.GetProperty("datasource").GetProperty("uid").GetString() == "${datasource}", $"{name} / {panel.GetProperty("title")} has a fixed data source");
                Assert.All(panel.GetProperty("targets").EnumerateArray(), t => Assert.Equal("${datasource}", t.GetProperty("datasource").GetProperty("uid").GetString()));
            }
        }
    }

    [Fact]
    public async Task SiloMetrics_PassPromtool()
    {
        var metrics = await observed.Silo.Http.GetStringAsync("/metrics", Token);
        Assert.Contains("evalmesh_inference_request_duration_seconds_bucket", metrics, StringComparison.Ordinal);
        var check = await ProgramRunner.RunAsync("promtool", ["check", "metrics"], input: metrics);
        Assert.True(check.ExitCode == 0 && check.Stdout.Length + check.Stderr.Length == 0, $"promtool check metrics exited {check.ExitCode}:\n{check.Stdout}{check.Stderr}");
    }

    [Fact]
    public async Task PrometheusConfiguration_PassesPromtool()
    {
        var check = await ProgramRunner.RunAsync("promtool", ["check", "config", RepoPaths.Under("dashboards/prometheus.yml")]);
        Assert.True(check.ExitCode == 0, $"promtool check config exited {check.ExitCode}:\n{check.Stdout}{check.Stderr}");
    }

    // Grafana's built-in variables and the silo variable set to All, as Grafana substitutes them.
    private static string Substitute(string expression, TimeSpan range) => expression
        .Replace("$__rate_interval", $"{ObservedSilo.RateInterval.TotalSeconds}s", StringComparison.Ordinal)
        .Replace("$__range", $"{Math.Ceiling(range.TotalSeconds)}s", StringComparison.Ordinal)
        .Replace("$instance", ".+", StringComparison.Ordinal);

    private static IEnumerable<(string Dashboard, string Panel, string Expression)> PanelQueries()
    {
        foreach (var file in DashboardFiles)
        {
            using var dashboard = JsonDocument.Parse(File.ReadAllText(file));
            foreach (var panel in Panels(dashboard.RootElement).Where(p => p.TryGetProperty("targets", out _)))
            {
                foreach (var target in panel.GetProperty("targets").EnumerateArray())
                {
                    yield return (Path.GetFileName(file), panel.GetProperty("title").GetString()!, target.GetProperty("expr").GetString()!);
                }
            }
        }
    }

    private static IEnumerable<JsonElement> Panels(JsonElement dashboard) =>
        dashboard.GetProperty("panels").EnumerateArray().SelectMany(p => p.TryGetProperty("panels", out var nested) ? nested.EnumerateArray().Prepend(p) : [p]).ToList();

    [GeneratedRegex(@"^label_values\((\w+),\s*(\w+)\)$")]
    private static partial Regex LabelValues();
}
