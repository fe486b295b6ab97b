using EvalMesh.Client;

namespace EvalMesh.Report.Tests;

/// <summary>The pages' templates are filled in one pass: text that looks like a hole is shown as written.</summary>
public sealed class PageTemplateTests(Browser browser)
{
    [Fact]
    public async Task LivePage_OfARunWhoseIdLooksLikeHoles_ShowsTheIdAsWritten()
    {
        const string id = "<b>{{data}}</b> {{live}} {{title}}";
        var page = await browser.NewPageAsync();
        await page.SetContentAsync(HtmlPages.LiveReport(id, "/runs/x/data", "/api/runs/x"));

        Assert.Equal($"EvalMesh run {id}", await page.Locator("h1#title").TextContentAsync());
        Assert.Equal("/runs/x/data", await page.EvaluateAsync<string>("() => document.body.dataset.live"));
        Assert.Equal("null", await page.Locator("#evalmesh-data").TextContentAsync());
    }
}
