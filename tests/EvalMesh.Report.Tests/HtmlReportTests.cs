using System.Globalization;
using System.Text.Json;
using Microsoft.Playwright;

namespace EvalMesh.Report.Tests;

/// <summary>The HTML report <c>evalmesh run</c> writes, opened from disk in a real browser with the network cut off.</summary>
public sealed class HtmlReportTests(ReportRun run, Browser browser)
{
    private static readonly string[] Charts = ["heatmap-0", "scatter", "cost-scatter", "tokens", "categories", "latency"];

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private async Task<IPage> OpenAsync(List<string> blocked)
    {
        var page = await browser.NewPageAsync();
        await page.RouteAsync("**/*", async route =>
        {
            if (route.Request.Url.StartsWith("file:", StringComparison.Ordinal))
            {
                await route.ContinueAsync();
            }
            else
            {
                blocked.Add(route.Request.Url);
                await route.AbortAsync();
            }
        });
        await page.GotoAsync(new Uri(Path.Combine(run.Reports, "report.html")).AbsoluteUri);
        await page.Locator("#heatmap-0 canvas").First.WaitForAsync();
        return page;
    }

    [Fact]
    public async Task Report_OpenedOffline_DrawsEveryChart()
    {
        var blocked = new List<string>();
        var page = await OpenAsync(blocked);
        foreach (var chart in Charts)
        {
            var canvas = page.Locator($"#{chart} canvas").First;
            var box = await canvas.BoundingBoxAsync();
            Assert.True(box is { Width: > 200, Height: > 150 }, $"{chart}: {box?.Width}x{box?.Height}");

            // Drawn, not merely sized: a good share of the canvas's pixels are painted.
            var painted = await canvas.EvaluateAsync<int>("c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }");
            Assert.True(painted > 2000, $"{chart}: only {painted} pixels painted");
        }

        Assert.Empty(blocked);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Browser.Screenshots, "report.png"), FullPage = true });
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Browser.Screenshots, "report-top.png"), FullPage = true, Clip = new Clip { X = 0, Y = 0, Width = 1280, Height = 1700 } });
    }

    [Fact]
    public async Task Heatmap_Hover_ShowsTheInterval()
    {
        var page = await OpenAsync([]);
        var heatmap = page.Locator("#heatmap-0");
        await heatmap.ScrollIntoViewIfNeededAsync();
        var box = (await heatmap.BoundingBoxAsync())!;

        // The first endpoint (echo) and format (oneline-json) of the matrix, where ECharts drew it.
        var at = await page.EvaluateAsync<double[]>("() => echarts.getInstanceByDom(document.getElementById('heatmap-0')).convertToPixel({ seriesIndex: 0 }, [0, 0])");
        await page.Mouse.MoveAsync(box.X + (float)at[0], box.Y + (float)at[1]);
        var row = run.Report.GetProperty("rows").EnumerateArray().Single(r => r.GetProperty("endpoint").GetString() == "echo" && r.GetProperty("format").GetString() == "oneline-json");
        var method = row.GetProperty("interval").GetString() == "clustered" ? "clustered by case" : "Wilson over cases";
        var interval = $"95% CI: {ReportPage.Percent(row.GetProperty("accuracyLower").GetDouble())}–{ReportPage.Percent(row.GetProperty("accuracyUpper").GetDouble())}, {method}";
        await Assertions.Expect(heatmap).ToContainTextAsync(interval);
    }

    [Fact]
    public async Task Report_ShowsTheNumbersOfTheJsonReport()
    {
        var page = await OpenAsync([]);
        var runStatus = run.Report.GetProperty("run");
        Assert.Equal(Count(runStatus.GetProperty("completed").GetInt32()), await page.Locator("#summary-cells").TextContentAsync());
        Assert.Equal(Count(runStatus.GetProperty("passed").GetInt32()), await page.Locator("#summary-passed").TextContentAsync());
        Assert.Equal(Count(runStatus.GetProperty("failed").GetInt32()), await page.Locator("#summary-failed").TextContentAsync());

        await ReportPage.AssertShowsAsync(page, run.Report);
        var rows = run.Report.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(6, rows.Count);

        // Echo's accuracy differs by format (its prompt holds '{"type"' only as JSON), so the page is not all one number.
        Assert.True(rows.Select(r => r.GetProperty("accuracy").GetDouble()).Distinct().Count() > 1);
        foreach (var recommendation in run.Report.GetProperty("recommendations").EnumerateArray())
        {
            var choice = recommendation.GetProperty("format").GetString() is { } format ? $"use {format}" : "inconclusive";
            Assert.Contains($"{recommendation.GetProperty("endpoint").GetString()} (probes): {choice}. {recommendation.GetProperty("reason").GetString()}.", await page.Locator("#recommendations").TextContentAsync());
        }

        Assert.Equal(run.Report.GetProperty("comparisons").GetArrayLength(), await page.Locator("#comparisons tbody tr").CountAsync());
        var endpoints = run.Report.GetProperty("settings").GetProperty("endpoints").EnumerateArray().ToList();
        Assert.Equal(endpoints.Select(e => e.GetProperty("name").GetString()), await page.Locator("#settings tbody tr td:first-child").AllTextContentsAsync());
        Assert.Equal("2 repeat(s) per cell (a sampled cell's seed is its repeat).", await page.Locator("#settings-summary").TextContentAsync());
    }

    [Fact]
    public async Task CellFilter_NarrowsTheTable_AndACellShowsItsWholePrompt()
    {
        var page = await OpenAsync([]);
        Assert.Equal(run.Cells.Count.ToString(CultureInfo.InvariantCulture), await page.Locator("#cell-count").GetAttributeAsync("data-matching"));

        await page.Locator("#cell-filter").FillAsync("yamlish");
        var yamlish = run.Cells.Count(c => c.GetProperty("caseId").GetString() == "yamlish");
        await Assertions.Expect(page.Locator("#cell-count")).ToHaveAttributeAsync("data-matching", yamlish.ToString(CultureInfo.InvariantCulture));
        Assert.Equal(yamlish, await page.Locator("#cells tbody tr").CountAsync());

        await page.Locator("#cell-outcome").SelectOptionAsync("passed");
        await page.Locator("#cell-endpoint").SelectOptionAsync("echo");
        var passed = run.Cells.Where(c => c.GetProperty("caseId").GetString() == "yamlish" && c.GetProperty("endpoint").GetString() == "echo" && c.GetProperty("outcome").GetString() == "passed").ToList();
        await Assertions.Expect(page.Locator("#cell-count")).ToHaveAttributeAsync("data-matching", passed.Count.ToString(CultureInfo.InvariantCulture));
        Assert.Equal(2, passed.Count);
        Assert.All(passed, c => Assert.Equal("yaml", c.GetProperty("format").GetString()));

        // The echo endpoint answers with the prompt it was sent: the page's prompt (shared head + the cell's tail) is it.
        var first = page.Locator("#cells tbody tr").First;
        var cellId = await first.GetAttributeAsync("data-cell");
        await first.ClickAsync();
        var cell = passed.Single(c => c.GetProperty("cellId").GetString() == cellId);
        Assert.Equal(cell.GetProperty("output").GetString(), await page.Locator("#detail-prompt").TextContentAsync());
        Assert.Equal(cell.GetProperty("reason").GetString(), await page.Locator("#detail-reason").TextContentAsync());
    }

    [Fact]
    public async Task MarkupInPromptsAndOutputs_IsShownAsText()
    {
        var page = await OpenAsync([]);
        await page.Locator("#cell-filter").FillAsync("onerror");
        await Assertions.Expect(page.Locator("#cells tbody tr").First).ToBeVisibleAsync();
        await page.Locator("#cells tbody tr").First.ClickAsync();
        Assert.Contains("<img src=x onerror=", await page.Locator("#detail-prompt").TextContentAsync());
        Assert.Equal(0, await page.Locator("main img").CountAsync());
        Assert.StartsWith("EvalMesh run", await page.TitleAsync());
    }

    private static string Count(int value) => value.ToString("N0", CultureInfo.GetCultureInfo("en-US"));
}
