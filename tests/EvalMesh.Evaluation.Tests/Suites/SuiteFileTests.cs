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
}
