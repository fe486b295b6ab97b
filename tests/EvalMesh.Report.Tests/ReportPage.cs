using System.Globalization;
using System.Text.Json;
using Microsoft.Playwright;

namespace EvalMesh.Report.Tests;

/// <summary>What a report page (the offline file or a silo's live page) must show of a run's JSON report.</summary>
internal static class ReportPage
{
    /// <summary>Every row of the matrix table equals the JSON report's row: accuracy, counts and mean prompt tokens.</summary>
    public static async Task AssertShowsAsync(IPage page, JsonElement report)
    {
        var rows = report.GetProperty("rows").EnumerateArray().ToList();
        var priced = rows.Any(r => r.GetProperty("cost").ValueKind != JsonValueKind.Null);
        await Assertions.Expect(page.Locator("#matrix td[data-key=cost]")).ToHaveCountAsync(priced ? rows.Count : 0);
        await Assertions.Expect(page.Locator("#matrix tbody tr")).ToHaveCountAsync(rows.Count);
        foreach (var row in rows)
        {
            var line = page.Locator($"#matrix tr[data-endpoint='{row.GetProperty("endpoint").GetString()}'][data-format='{row.GetProperty("format").GetString()}']");
            Assert.Equal(Percent(row.GetProperty("accuracy").GetDouble()), await line.Locator("td[data-key=accuracy]").TextContentAsync());
            foreach (var key in new[] { "passed", "failed", "errors" })
            {
                Assert.Equal(row.GetProperty(key).GetInt32().ToString(CultureInfo.InvariantCulture), await line.Locator($"td[data-key={key}]").TextContentAsync());
            }

            foreach (var tokens in row.GetProperty("meanPromptTokens").EnumerateObject())
            {
                Assert.Equal(tokens.Value.GetDouble().ToString("0.0", CultureInfo.InvariantCulture), await line.Locator($"td[data-key='tokens-{tokens.Name}']").TextContentAsync());
            }

            if (priced)
            {
                Assert.Equal(Money(row.GetProperty("cost")), await line.Locator("td[data-key=cost]").TextContentAsync());
                Assert.Equal(Money(row.GetProperty("meanCost")), await line.Locator("td[data-key=mean-cost]").TextContentAsync());
            }
        }
    }

    /// <summary>
    /// An amount as the page shows it: at most six decimals, no trailing zeros, "–" for none. Rounded as JavaScript's
    /// toFixed rounds, from the double's exact value (0.0002005 is stored just below, so it shows 0.0002).
    /// </summary>
    public static string Money(JsonElement value) =>
        value.ValueKind == JsonValueKind.Null ? "–" : double.Parse(value.GetDouble().ToString("F6", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture).ToString("0.######", CultureInfo.InvariantCulture);

    /// <summary>A fraction as the page shows it: 42.9%.</summary>
    public static string Percent(double value) => (value * 100).ToString("0.0", CultureInfo.InvariantCulture) + "%";
}
