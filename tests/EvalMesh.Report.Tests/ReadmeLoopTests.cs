using System.Text.Json;
using EvalMesh.Testing;

namespace EvalMesh.Report.Tests;

/// <summary>
/// The README's loop, as it shows it: <c>client/examples/slack-loop.yaml</c> run on the built-in trained model, then
/// <c>evalmesh finetune</c> with the README's options. The adapter trained on the training cases' failures (and their
/// passes as anchors) must answer held-out csv and toon questions the base answers none of, significantly by an exact
/// paired test recomputed here from the counts, and be significantly worse nowhere.
/// </summary>
public sealed class ReadmeLoopTests
{
    [Fact]
    public async Task ReadmeLoop_TheAdapterGainsOnHeldOutCsvAndToon_AndLosesNothing()
    {
        var folder = Directory.CreateTempSubdirectory("evalmesh-readme-loop-").FullName;
        try
        {
            var environment = new Dictionary<string, string> { ["EVALMESH_HOME"] = Path.Combine(folder, "home") };
            var run = await CliRunner.RunAsync(folder, environment, "run", RepoPaths.Under("client/examples/slack-loop.yaml"), "--run-id", "loop");
            Assert.True(run.ExitCode == 1, $"csv and toon fail, so the run exits 1: {run.ExitCode}\n{run.Stdout}\n{run.Stderr}");

            var loop = await CliRunner.RunAsync(folder, environment, "finetune", "loop", "--endpoint", "tiny", "--anchors", "--epochs", "4", "--learning-rate", "0.004", "--json");
            Assert.True(loop.ExitCode == 0, $"{loop.ExitCode}\n{loop.Stdout}\n{loop.Stderr}");
            var result = JsonDocument.Parse(loop.Stdout).RootElement;
            Assert.Equal(12, result.GetProperty("heldOutCases").GetArrayLength());

            var rows = result.GetProperty("comparison").EnumerateArray().ToDictionary(r => r.GetProperty("format").GetString()!);
            Assert.Equal(6, rows.Count);
            foreach (var format in new[] { "csv", "toon" })
            {
                var (worse, better) = Discordant(rows[format]);
                Assert.Equal(0, rows[format].GetProperty("baselineAccuracy").GetDouble());
                Assert.True(better > worse && ExactMcNemar(worse, better) < 0.05, $"{format}: the adapter better on {better} held-out cases, the base on {worse}");
            }

            foreach (var (format, row) in rows)
            {
                var (worse, better) = Discordant(row);
                Assert.False(worse > better && ExactMcNemar(worse, better) < 0.05, $"{format}: the base better on {worse} held-out cases, the adapter on {better}");
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static (int BaseBetter, int AdapterBetter) Discordant(JsonElement row) =>
        (row.GetProperty("baselineBetter").GetInt32(), row.GetProperty("candidateBetter").GetInt32());

    // Two-sided exact McNemar: the discordant pairs split as a fair coin would, at least this unevenly.
    private static double ExactMcNemar(int a, int b)
    {
        var n = a + b;
        var tail = Enumerable.Range(0, Math.Min(a, b) + 1).Sum(k => Choose(n, k)) / Math.Pow(2, n);
        return Math.Min(1, 2 * tail);
    }

    private static double Choose(int n, int k) => Enumerable.Range(1, k).Aggregate(1.0, (c, i) => c * (n - k + i) / i);
}
