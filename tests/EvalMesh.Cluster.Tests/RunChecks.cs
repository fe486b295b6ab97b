using System.Text.Json;

using EvalMesh.Testing;

namespace EvalMesh.Cluster.Tests;

/// <summary>What every finished run must satisfy, checked from a silo's REST API.</summary>
internal static class RunChecks
{
    /// <summary>
    /// Asserts that the run has exactly <paramref name="cells"/> results, one per cell id and none an error, and that
    /// each row of its JSON report equals a recomputation from those results; returns them.
    /// </summary>
    public static async Task<IReadOnlyList<JsonElement>> AssertOneResultPerCellAsync(SiloProcess silo, string runId, JsonElement report, int cells)
    {
        ArgumentNullException.ThrowIfNull(silo);
        var results = (await silo.Http.GetStringAsync($"/api/runs/{runId}/results", TestContext.Current.CancellationToken))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(cells, results.Count);
        Assert.Equal(cells, results.Select(r => r.GetProperty("cellId").GetString()).Distinct().Count());
        Assert.DoesNotContain(results, r => r.GetProperty("outcome").GetString() == "error");
        foreach (var row in report.GetProperty("rows").EnumerateArray())
        {
            var matching = results.Where(r => r.GetProperty("format").GetString() == row.GetProperty("format").GetString()
                && r.GetProperty("endpoint").GetString() == row.GetProperty("endpoint").GetString()).ToList();
            Assert.Equal(matching.Count, row.GetProperty("cells").GetInt32());
            Assert.Equal(matching.Count(c => c.GetProperty("outcome").GetString() == "passed"), row.GetProperty("passed").GetInt32());
            Assert.Equal(matching.Average(c => c.GetProperty("promptTokens").GetProperty("o200k_base").GetInt32()), row.GetProperty("meanPromptTokens").GetProperty("o200k_base").GetDouble(), 6);
        }

        return results;
    }
}
