using EvalMesh.Evaluation.Datasets;

namespace EvalMesh.Evaluation.Tests.Datasets;

public sealed class DatasetReaderTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("evalmesh-datasets-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Write(string name, string content)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllText(path, content);
        return path;
    }

    [Fact]
    public void Read_JsonLines_ReadsRecordsAndHashesContent()
    {
        var a = DatasetReader.Read(Write("a.jsonl", "{\"x\":1}\n\n{\"x\":2}\n"));
        var b = DatasetReader.Read(Write("b.jsonl", "{\"x\":1}\n{\"x\":2}"));
        Assert.Equal(2, a.Records.Count);
        Assert.Equal(a.Id, b.Id);
        Assert.Matches("^[0-9a-f]{16}$", a.Id);
        Assert.NotEqual(a.Id, DatasetReader.Read(Write("c.jsonl", "{\"x\":3}")).Id);
    }

    [Fact]
    public void Read_JsonLinesWithABrokenLine_NamesTheLine()
    {
        var path = Write("bad.jsonl", "{\"x\":1}\n{\"x\":2}\n{\"x\": oops}\n");
        var ex = Assert.Throws<EvalMeshInputException>(() => DatasetReader.Read(path));
        Assert.Equal(3, ex.Line);
        Assert.StartsWith($"{path}:3:", ex.Message);
    }

    [Fact]
    public void Read_CsvWithUnbalancedQuotes_NamesTheLine()
    {
        var ex = Assert.Throws<EvalMeshInputException>(() => DatasetReader.Read(Write("bad.csv", "a,b\n1,2\n3,\"open\n4,5\n")));
        Assert.Equal(3, ex.Line);
        Assert.Contains("unbalanced quotes", ex.Message);
    }

    [Fact]
    public void Read_Csv_UnflattensDottedColumns()
    {
        var dataset = DatasetReader.Read(Write("users.csv", "id,user.name,user.team\r\n1,Yuki,\"data, eng\"\r\n"));
        Assert.Equal("""{"id":"1","user":{"name":"Yuki","team":"data, eng"}}""", dataset.Records[0].ToJsonString());
    }

    [Fact]
    public void Read_MissingFileOrUnknownType_SaysWhich()
    {
        Assert.EndsWith(": file not found", Assert.Throws<EvalMeshInputException>(() => DatasetReader.Read(Path.Combine(_folder, "none.jsonl"))).Message);
        Assert.Contains("unknown dataset file type '.txt'", Assert.Throws<EvalMeshInputException>(() => DatasetReader.Read(Write("x.txt", "hi"))).Message);
    }

    [Fact]
    public void Read_JsonThatIsNotAnArrayOfObjects_SaysSo()
    {
        Assert.Contains("expected a JSON array", Assert.Throws<EvalMeshInputException>(() => DatasetReader.Read(Write("x.json", "{\"a\":1}"))).Message);
        Assert.Contains("element 2", Assert.Throws<EvalMeshInputException>(() => DatasetReader.Read(Write("y.json", "[{}, 3]"))).Message);
    }
}
