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

    [Theory]
    [InlineData("empty.jsonl", "")]
    [InlineData("blank.jsonl", "\n\n")]
    [InlineData("empty.json", "[]")]
    [InlineData("header.csv", "id,text\n")]
    public void Read_FileWithNoRecords_SaysSo(string name, string content)
    {
        var path = Write(name, content);
        Assert.Equal($"{path}: the file holds no records", Assert.Throws<EvalMeshInputException>(() => DatasetReader.Read(path)).Message);
    }

    // Found by DatasetReaderFuzzTests: JsonNode parses lazily, so these passed the reader and threw later, wherever a
    // record was first read (an InvalidOperationException or ArgumentException instead of a line number).
    [Theory]
    [InlineData("{\"a\":1,\"a\":2}", "Duplicate property 'a'")]
    [InlineData("{\"a\":\"\\ud800\"}", "surrogate")]
    [InlineData("{\"\\udc00\":1}", "surrogate")]
    public void Read_JsonLineWithADuplicateKeyOrAnUnpairedSurrogate_NamesTheLine(string line, string problem)
    {
        var ex = Assert.Throws<EvalMeshInputException>(() => DatasetReader.Read(Write("bad.jsonl", "{\"a\":1}\n" + line + "\n")));
        Assert.Equal(2, ex.Line);
        Assert.Contains(problem, ex.Message);
        Assert.Contains("invalid JSON", Assert.Throws<EvalMeshInputException>(() => DatasetReader.Read(Write("bad.json", $"[{line}]"))).Message);
    }
}
