using System.Text.Json.Nodes;
using EvalMesh.Testing;

namespace EvalMesh.Cluster.Tests;

/// <summary>
/// <c>evalmesh generate cases</c> sent to a silo process (<c>--server</c>), whose runs ask that silo's own
/// OpenAI-compatible gateway to write cases with the built-in tiny model: the model's answers are not cases, and every
/// one must be dropped with its reason, the command must fail clearly, and no file may be left behind.
/// </summary>
public sealed class CaseGenerationGatewayTests(GatewaySilo gateway) : IClassFixture<GatewaySilo>
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TheGatewaysBuiltInModel_WritesNoValidCase_AndEveryProposalIsDroppedWithItsReason()
    {
        var folder = Directory.CreateTempSubdirectory("evalmesh-generate-gateway-").FullName;
        try
        {
            Assert.Equal(0, (await CliRunner.RunAsync(folder, "generate", "slack", "--messages", "16", "--seed", "2", "--out", "data")).ExitCode);
            var url = $"http://127.0.0.1:{gateway.Silo.HttpPort}";
            var before = await Gateway();
            var result = await CliRunner.RunAsync(
                folder,
                "generate", "cases", "--with", $"{url}/v1", "--model", "tiny-random", "--dataset", "data/messages.jsonl",
                "--per-category", "1", "--max-calls", "10", "--max-tokens", "48", "--server", url, "--out", "suite.yaml");

            Assert.Equal(2, result.ExitCode);
            Assert.Contains("'--max-calls': endpoint 'tiny-random' wrote no valid case in 10 call(s) (", result.Stderr, StringComparison.Ordinal);
            Assert.Contains("; nothing was written", result.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
            Assert.False(File.Exists(Path.Combine(folder, "suite.yaml")));

            // The proposals were runs of the silo, and each of their ten cells (the budget) asked its gateway, whose
            // model host answered them.
            Assert.Equal(10, await gateway.Silo.MetricAsync("evalmesh_cells_total", "endpoint=\"tiny-random\""));
            Assert.Equal(10, await Gateway() - before);
            using var runs = await gateway.Silo.Http.GetAsync("/api/runs", Token);
            var descriptions = JsonNode.Parse(await runs.Content.ReadAsStringAsync(Token))!.AsArray().Select(r => r!["description"]?.GetValue<string>()).ToList();
            Assert.Contains("generate: propose, round 1", descriptions);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    // Generations the silo's model host has finished.
    private Task<double> Gateway() => gateway.Silo.MetricAsync("evalmesh_inference_request_duration_seconds_count");
}
