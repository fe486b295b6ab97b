using EvalMesh.Evaluation.Scoring;
using EvalMesh.Evaluation.Suites;

namespace EvalMesh.Evaluation.Tests.Suites;

public sealed class SuiteFileTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("evalmesh-suites-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Write_CasesThatShareALists_ReadsBack()
    {
        // The reader rejects YAML aliases, so the writer must not emit one for a list two cases share.
        IReadOnlyList<string> shared = ["geo"];
        var suite = new TestSuite("s", null, [new TestCase("a", "Where?", ["Tokyo"], new ScorerSpec("exact"), shared), new TestCase("b", "When?", ["2024"], new ScorerSpec("exact"), shared)]);
        var path = Path.Combine(_folder, "suite.yaml");
        SuiteFile.Write(suite, path);
        Assert.Equal(["geo", "geo"], SuiteFile.Read(path).Cases.Select(c => c.Tags.Single()));
    }

    [Fact]
    public void Write_CasesWithRecords_ReadBackInDatasetOrder()
    {
        var suite = new TestSuite("s", "messages.jsonl",
        [
            new TestCase("a", "Which?", ["x"], new ScorerSpec("url-set"), ["index"], [2, 7, 30]),
            new TestCase("b", "All?", ["y"], new ScorerSpec("url-set"), ["user"]),
        ]);
        var path = Path.Combine(_folder, "suite.yaml");
        SuiteFile.Write(suite, path);
        var read = SuiteFile.Read(path, datasetRecords: 30).Cases;
        Assert.Equal([2, 7, 30], read[0].Records!);
        Assert.Null(read[1].Records);
        Assert.DoesNotContain("records", File.ReadAllLines(path).SkipWhile(l => !l.Contains("id: b", StringComparison.Ordinal)));
    }

    [Fact]
    public void Read_RecordsInAnyOrder_AreKeptInDatasetOrder()
    {
        var path = Write("records: [9, 3, 5]");
        Assert.Equal([3, 5, 9], SuiteFile.Read(path).Cases[0].Records!);
    }

    [Theory]
    [InlineData("records: [3, 0]", null, 7, "cases[0].records[1]", "'0' is not a record number")]
    [InlineData("records: [3, two]", null, 7, "cases[0].records[1]", "'two' is not a record number")]
    [InlineData("records: [3, 3]", null, 7, "cases[0].records[1]", "record 3 is named twice")]
    [InlineData("records: [4, 101]", 100, 7, "cases[0].records[1]", "record 101 is not in the dataset, which has 100 records")]
    [InlineData("records: []", null, 7, "cases[0].records", "must name at least one record")]
    public void Read_BadRecords_NamesFileLineAndKey(string records, int? datasetRecords, int line, string key, string problem)
    {
        var path = Write(records);
        var ex = Assert.Throws<EvalMeshInputException>(() => SuiteFile.Read(path, datasetRecords));
        Assert.Equal(path, ex.File);
        Assert.Equal(line, ex.Line);
        Assert.Equal(key, ex.Setting);
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
    }

    private string Write(string records)
    {
        var path = Path.Combine(_folder, "records.suite.yaml");
        File.WriteAllText(path, $"""
            name: retrieved
            dataset: messages.jsonl
            cases:
              - id: a
                question: Which message?
                expected: [x]
                {records}
            """);
        return path;
    }
}
