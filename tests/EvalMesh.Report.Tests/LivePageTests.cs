using System.Globalization;
using System.Net;
using System.Text.Json;
using EvalMesh.Inference.Tiny;
using EvalMesh.Testing;
using Microsoft.Playwright;

namespace EvalMesh.Report.Tests;

/// <summary>A silo process with API keys on, its run pages in a real browser while a run on the tiny model goes.</summary>
public sealed class LivePageTests(Browser browser) : IAsyncLifetime
{
    private const string ReadKey = "evalmesh-read-7c1d2e9a";
    private const string RunKey = "evalmesh-run-4b8f0a63";

    // 1,000 cells, one at a time, so the run lasts long enough to watch (about 20 s on a quiet machine: the tiny model
    // answers about fifty cells a second, and the page refreshes its progress every second).
    private const string Config = """
        description: live page test
        datasets:
          - name: slack
            generate: { kind: slack, messages: 20, seed: 5, cases-per-category: 2 }
        suites:
          - name: slack
            dataset: slack
            generated: true
        formats: [csv, yaml]
        endpoints:
          - name: tiny
            type: llama
            model: tiny-random
            max-tokens: 16
        repeats: 50
        concurrency: 1
        """;

    private readonly string _folder = Directory.CreateTempSubdirectory("evalmesh-live-").FullName;
    private SiloProcess _silo = null!;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        var cache = Path.Combine(_folder, "cache");
        TinyModel.EnsureRandomCached(cache);
        _silo = await SiloProcess.StartEmbeddedAsync(Path.Combine(_folder, "data"), new Dictionary<string, string>
        {
            ["EVALMESH_CACHE"] = cache,
            ["EvalMesh__Security__ApiKeys__0__Name"] = "reader",
            ["EvalMesh__Security__ApiKeys__0__Key"] = ReadKey,
            ["EvalMesh__Security__ApiKeys__0__Scope"] = "Read",
            ["EvalMesh__Security__ApiKeys__1__Name"] = "runner",
            ["EvalMesh__Security__ApiKeys__1__Key"] = RunKey,
            ["EvalMesh__Security__ApiKeys__1__Scope"] = "Run",
        });
    }

    public async ValueTask DisposeAsync()
    {
        await _silo.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task RunPages_AskForAKey_ListTheRun_AndTheReportAdvancesWhileItGoes()
    {
        var page = await browser.NewPageAsync();
        var signIn = await page.GotoAsync($"http://127.0.0.1:{_silo.HttpPort}/runs");
        Assert.Equal(401, signIn!.Status);
        Assert.Equal("Sign in with an API key to see the runs.", await page.Locator("#message").TextContentAsync());
        await page.Locator("#key").FillAsync("not-a-key");
        await page.Locator("#sign-in").ClickAsync();
        await Assertions.Expect(page.Locator("#message")).ToHaveTextAsync("That API key is not valid.");
        await page.Locator("#key").FillAsync(ReadKey);
        await page.Locator("#sign-in").ClickAsync();
        await Assertions.Expect(page.Locator("#runs")).ToBeVisibleAsync();

        // The page's cookie is not a key for anyone else, nor for changing anything.
        Assert.Equal(HttpStatusCode.Unauthorized, (await _silo.SendAsync(HttpMethod.Get, "/runs", null, cancellationToken: Token)).StatusCode);
        var started = await _silo.SendAsync(HttpMethod.Post, "/api/runs", RunKey, new StringContent(Config, System.Text.Encoding.UTF8, "application/yaml"), Token);
        Assert.Equal(HttpStatusCode.Created, started.StatusCode);
        var id = JsonDocument.Parse(await started.Content.ReadAsStringAsync(Token)).RootElement.GetProperty("id").GetString()!;

        // The list (in a second tab, signed in through the same cookie) and the run's page, watched while the run goes.
        var list = await page.Context.NewPageAsync();
        await list.GotoAsync($"http://127.0.0.1:{_silo.HttpPort}/runs");
        await page.GotoAsync($"http://127.0.0.1:{_silo.HttpPort}/runs/{id}");
        var progress = page.Locator("#progress");
        var listed = list.Locator($"#runs tr[data-run='{id}'] td[data-key=cells]");
        var seen = new SortedSet<int>();
        var seenListed = new SortedSet<string>(StringComparer.Ordinal);
        var total = 0;
        await Poll.UntilAsync(async () =>
        {
            // One read of the page's progress, so its completed count and state are from the same refresh.
            var shown = await progress.EvaluateAsync<string[]>("e => [e.dataset.completed ?? '', e.dataset.total ?? '0', e.dataset.state ?? '']");
            total = int.Parse(shown[1], CultureInfo.InvariantCulture);
            if (shown[0].Length > 0)
            {
                seen.Add(int.Parse(shown[0], CultureInfo.InvariantCulture));
            }

            if (await listed.CountAsync() == 1)
            {
                seenListed.Add(await listed.TextContentAsync() ?? string.Empty);
            }

            return shown[2] == "completed";
        }, TimeSpan.FromMinutes(3), "the run to complete on its live page");
        Assert.True(seen.Count(c => c > 0 && c < total) >= 2, $"the page showed progress {string.Join(", ", seen)} of {total}: it must advance while the run goes");
        Assert.Equal(total, seen.Max);
        Assert.True(seenListed.Any(c => c != $"0/{total}" && c != $"{total}/{total}"), $"the list showed {string.Join(", ", seenListed)}: it must show the run's progress while it goes");

        var report = await _silo.SendAsync(HttpMethod.Get, $"/api/runs/{id}/report", ReadKey, cancellationToken: Token);
        await ReportPage.AssertShowsAsync(page, JsonDocument.Parse(await report.Content.ReadAsStringAsync(Token)).RootElement);
        await Assertions.Expect(page.Locator("#cell-count")).ToHaveAttributeAsync("data-matching", total.ToString(CultureInfo.InvariantCulture));
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Browser.Screenshots, "live-run.png"), FullPage = true });

        await Assertions.Expect(listed).ToHaveTextAsync($"{total}/{total}");
        await list.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Browser.Screenshots, "runs.png"), FullPage = true });
    }
}
