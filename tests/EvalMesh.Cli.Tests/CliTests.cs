using EvalMesh.Testing;

using System.Text.Json;

namespace EvalMesh.Cli.Tests;

public sealed class CliTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("evalmesh-cli-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private Task<ProgramResult> Run(params string[] args) =>
        CliRunner.RunAsync(_folder, new Dictionary<string, string> { ["EVALMESH_HOME"] = Path.Combine(_folder, "home") }, args);

    private string Write(string name, string content)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllText(path, content);
        return path;
    }

    private static void AssertOneClearLine(ProgramResult result, string expected)
    {
        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("evalmesh: error: ", line);
        Assert.Contains(expected, line);
        Assert.DoesNotContain("   at ", result.Stderr + result.Stdout);
    }

    [Fact]
    public async Task GenerateSlack_WritesTheSameFilesForTheSameSeed()
    {
        var first = await Run("generate", "slack", "--messages", "40", "--seed", "3", "--out", "a");
        var second = await Run("generate", "slack", "--messages", "40", "--seed", "3", "--out", "b");
        Assert.Equal(0, first.ExitCode);
        Assert.Equal(0, second.ExitCode);
        Assert.Equal(40, File.ReadAllLines(Path.Combine(_folder, "a", "messages.jsonl")).Length);
        Assert.Equal(File.ReadAllBytes(Path.Combine(_folder, "a", "messages.jsonl")), File.ReadAllBytes(Path.Combine(_folder, "b", "messages.jsonl")));
        Assert.Equal(File.ReadAllText(Path.Combine(_folder, "a", "suite.yaml")), File.ReadAllText(Path.Combine(_folder, "b", "suite.yaml")));
        Assert.Contains("scorer: url-set", File.ReadAllText(Path.Combine(_folder, "a", "suite.yaml")));
    }

    [Fact]
    public async Task Compare_FlagsASignificantRegressionOnTheSameCells_AndExitsOneForIt()
    {
        string[] capitals = ["Paris", "Tokyo", "Lima", "Oslo", "Cairo", "Quito", "Hanoi", "Dakar", "Bern", "Riga", "Sofia", "Doha"];
        Write("capitals.jsonl", string.Concat(capitals.Select((c, i) => $"{{\"country\":\"c{i}\",\"capital\":\"{c}\"}}\n")));
        Write("blanked.jsonl", string.Concat(capitals.Select((_, i) => $"{{\"country\":\"c{i}\",\"capital\":\"?\"}}\n")));
        string Config(string name, string dataset) => Write(name, $$"""
            datasets:
              - { name: capitals, path: {{dataset}} }
            suites:
              - name: capitals
                dataset: capitals
                cases:
            {{string.Join('\n', capitals.Select((c, i) => $"      - {{ id: q{i}, question: \"Capital of c{i}?\", expected: {c}, scorer: contains }}"))}}
            formats: [csv]
            endpoints:
              - { name: model, type: echo }
            """);

        // The echo endpoint answers with its prompt: right while the records hold the capitals, wrong once they do not.
        Assert.Equal(0, (await Run("run", Config("good.yaml", "capitals.jsonl"), "--run-id", "good")).ExitCode);
        Assert.Equal(0, (await Run("run", Config("again.yaml", "capitals.jsonl"), "--run-id", "again")).ExitCode);
        Assert.Equal(1, (await Run("run", Config("bad.yaml", "blanked.jsonl"), "--run-id", "bad")).ExitCode);

        var same = await Run("compare", "good", "again");
        Assert.Equal(0, same.ExitCode);
        Assert.Contains("0 regressed, 0 improved, 1 the same", same.Stdout);

        var regressed = await Run("compare", "good", "bad", "--json");
        Assert.Equal(1, regressed.ExitCode);
        var row = Assert.Single(JsonDocument.Parse(regressed.Stdout).RootElement.EnumerateArray());
        Assert.Equal("regressed", row.GetProperty("verdict").GetString());
        Assert.Equal(12, row.GetProperty("paired").GetInt32());
        Assert.Equal(12, row.GetProperty("baselineBetter").GetInt32());
        Assert.Equal(-1, row.GetProperty("difference").GetDouble(), 9);
        Assert.True(row.GetProperty("differenceUpper").GetDouble() < 0);
        Assert.True(row.GetProperty("pValue").GetDouble() < 0.001);

        Assert.Equal(0, (await Run("compare", "bad", "good")).ExitCode);
        AssertOneClearLine(await Run("compare", "good", "nope"), "nope");
        AssertOneClearLine(await Run("compare", "good", "bad", "--alpha", "2"), "--alpha");
    }

    [Fact]
    public async Task StoredRunThisVersionCannotRead_IsOneLineNamingItsFile_AndTheFileIsKept()
    {
        Write("records.jsonl", "{\"id\":1}\n");
        var config = Write("echo.yaml", """
            datasets: [{ name: d, path: records.jsonl }]
            suites: [{ name: s, dataset: d, cases: [{ id: q, question: "id?", expected: "1", scorer: contains }] }]
            formats: [csv]
            endpoints: [{ name: e, type: echo }]
            """);
        Assert.Equal(0, (await Run("run", config, "--run-id", "old")).ExitCode);

        // A state file whose payload no longer matches its types, as one written by an earlier version would be.
        var state = Directory.GetFiles(Path.Combine(_folder, "home", "grains", "evalrun")).Single();
        var bytes = File.ReadAllBytes(state);
        bytes.AsSpan(8).Fill(0xFF);
        File.WriteAllBytes(state, bytes);

        var status = await Run("status", "old");
        Assert.Equal(3, status.ExitCode);
        var line = Assert.Single(status.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"evalmesh: error: {state}: the stored state of evalrun/old cannot be read", line);
        Assert.DoesNotContain("   at ", status.Stderr + status.Stdout);
        Assert.Equal(bytes, File.ReadAllBytes(state));
    }

    [Fact]
    public async Task Convert_JsonLinesToCsv_PrintsFlattenedColumns()
    {
        var file = Write("people.jsonl", "{\"id\":1,\"user\":{\"name\":\"ゆき\"},\"note\":\"a,b\"}\n");
        var result = await Run("convert", "--to", "csv", file);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("id,user.name,note\r\n1,ゆき,\"a,b\"\n", result.Stdout);
    }

    [Fact]
    public async Task Tokens_Json_ReportsEveryFormatAndTokenizer()
    {
        await Run("generate", "slack", "--out", "data");
        var result = await Run("tokens", Path.Combine("data", "messages.jsonl"), "--json");
        Assert.Equal(0, result.ExitCode);
        using var json = JsonDocument.Parse(result.Stdout);
        var formats = json.RootElement.GetProperty("formats").EnumerateArray().ToList();
        Assert.Equal(8, formats.Count);
        Assert.All(formats, f =>
        {
            Assert.True(f.GetProperty("bytes").GetInt32() > 1000);
            Assert.True(f.GetProperty("tokens").GetProperty("o200k_base").GetInt32() > 100);
            Assert.True(f.GetProperty("tokens").GetProperty("cl100k_base").GetInt32() > 100);
        });
    }

    [Fact]
    public async Task Tokens_SlackTable_ListsFormatsCheapestFirst()
    {
        var result = await Run("tokens", "--slack", "--formats", "pretty-json,csv", "--tokenizers", "o200k_base");
        Assert.Equal(0, result.ExitCode);
        Assert.True(result.Stdout.IndexOf("csv", StringComparison.Ordinal) < result.Stdout.IndexOf("pretty-json", StringComparison.Ordinal), result.Stdout);
        Assert.Contains("1.00x", result.Stdout);
    }

    [Fact]
    public async Task BrokenJsonLine_NamesFileAndLine()
    {
        var file = Write("bad.jsonl", "{\"a\":1}\n{\"a\":2\n");
        AssertOneClearLine(await Run("tokens", file), $"{file}:2:");
    }

    [Fact]
    public async Task CsvWithUnbalancedQuotes_NamesFileAndLine()
    {
        var file = Write("bad.csv", "a,b\n1,\"open\n");
        AssertOneClearLine(await Run("convert", "--to", "toon", file), $"{file}:2: unbalanced quotes");
    }

    [Fact]
    public async Task MissingFile_SaysSo()
    {
        AssertOneClearLine(await Run("tokens", "nowhere.jsonl"), "nowhere.jsonl: file not found");
    }

    [Fact]
    public async Task UnknownFormat_ListsTheKnownOnes()
    {
        var file = Write("ok.jsonl", "{\"a\":1}\n");
        AssertOneClearLine(await Run("convert", "--to", "jsonx", file), "unknown format 'jsonx'");
        AssertOneClearLine(await Run("tokens", file, "--formats", "csv,tomlish"), "known formats: oneline-json, pretty-json, csv, yaml, markdown-table, markdown-kv, xml, toon");
    }

    [Fact]
    public async Task UnknownTokenizer_ListsTheKnownOnes()
    {
        var file = Write("ok.jsonl", "{\"a\":1}\n");
        AssertOneClearLine(await Run("tokens", file, "--tokenizers", "o300k"), "unknown tokenizer 'o300k'");
    }
}
