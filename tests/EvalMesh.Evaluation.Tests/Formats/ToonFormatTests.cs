using System.Text.Json.Nodes;
using CsCheck;
using EvalMesh.Evaluation.Formats;

namespace EvalMesh.Evaluation.Tests.Formats;

public class ToonFormatTests
{
    private static readonly ToonFormat Toon = new();

    private static JsonObject[] Records(string json) => [.. JsonNode.Parse(json)!.AsArray().Select(n => n!.AsObject().DeepClone().AsObject())];

    [Fact]
    public void Render_UniformRecords_IsOneTabularArray()
    {
        var text = Toon.Render(Records("""[{"id":1,"name":"Alice","role":"admin"},{"id":2,"name":"Bob","role":"user"}]"""));
        Assert.Equal("[2]{id,name,role}:\n  1,Alice,admin\n  2,Bob,user", text);
    }

    [Fact]
    public void Render_NestedRecords_IsAnExpandedListWithTheFirstFieldOnTheHyphenLine()
    {
        var text = Toon.Render(Records("""[{"id":1,"user":{"name":"Ada"},"tags":["a","b"]},{}]"""));
        Assert.Equal("[2]:\n  - id: 1\n    user:\n      name: Ada\n    tags[2]: a,b\n  -", text);
    }

    [Fact]
    public void Render_ListItemWhoseFirstFieldIsTabular_PutsRowsTwoLevelsDeeper()
    {
        var text = Toon.Render(Records("""[{"items":[{"a":1,"b":2}],"note":"x"}]"""));
        Assert.Equal("[1]:\n  - items[1]{a,b}:\n      1,2\n    note: x", text);
    }

    [Theory]
    [InlineData("", "\"\"")]
    [InlineData("true", "\"true\"")]
    [InlineData("42", "\"42\"")]
    [InlineData("05", "\"05\"")]
    [InlineData("1e-6", "\"1e-6\"")]
    [InlineData("- item", "\"- item\"")]
    [InlineData("a,b", "\"a,b\"")]
    [InlineData("a:b", "\"a:b\"")]
    [InlineData(" padded", "\" padded\"")]
    [InlineData("line\nbreak", "\"line\\nbreak\"")]
    [InlineData("[x]", "\"[x]\"")]
    [InlineData("日本語 テキスト", "日本語 テキスト")]
    [InlineData("hello world", "hello world")]
    public void Render_StringValues_AreQuotedExactlyWhenTheSpecRequires(string value, string expected)
    {
        Assert.Equal($"[1]{{v}}:\n  {expected}", Toon.Render([new JsonObject { ["v"] = value }]));
    }

    [Theory]
    [InlineData("1.5000", "1.5")]
    [InlineData("1e6", "1000000")]
    [InlineData("1E-6", "0.000001")]
    [InlineData("-0", "0")]
    [InlineData("2.0", "2")]
    [InlineData("12345678901234567890", "12345678901234567890")]
    public void Render_Numbers_AreCanonicalDecimals(string json, string expected)
    {
        Assert.Equal($"[1]{{v}}:\n  {expected}", Toon.Render(Records($$"""[{"v":{{json}}}]""")));
    }

    [Fact]
    public void Render_KeysThatAreNotIdentifiers_AreQuoted()
    {
        Assert.Equal("[1]{\"my-key\",user.name}:\n  1,2", Toon.Render(Records("""[{"my-key":1,"user.name":2}]""")));
    }

    [Fact]
    public void Parse_SpecExampleWithPipeDelimiterAndNestedHeaders()
    {
        var text = "[2]:\n  - id: 1\n    tags[3|]: a|b,c|d\n    rows[2]{x,y}:\n      1,\"q,r\"\n      2,null\n  - [2]: 1,2";
        var parsed = ToonDecoder.Decode(text, "test")!.AsArray();
        Assert.Equal("""[{"id":1,"tags":["a","b,c","d"],"rows":[{"x":1,"y":"q,r"},{"x":2,"y":null}]},[1,2]]""", parsed.ToJsonString());
    }

    [Theory]
    [InlineData("[3]{a}:\n  1\n  2", "declares 3 rows but fewer follow")]
    [InlineData("[1]{a,b}:\n  1", "row has 1 values but the header declares 2 fields")]
    [InlineData("[1]: 1,2", "declares 1 values but 2 follow")]
    [InlineData("[1]:\n  - a: \"unterminated", "unterminated string")]
    [InlineData("[1]:\n  - a: \"bad \\x escape\"", "invalid escape")]
    [InlineData("[1]:\n   - a: 1", "not a multiple of 2")]
    [InlineData("[1]:\n  - a: 1\n    a: 2", "duplicate key 'a'")]
    public void Parse_MalformedText_FailsWithTheLine(string text, string problem)
    {
        var ex = Assert.Throws<EvalMeshInputException>(() => Toon.Parse(text));
        Assert.Contains(problem, ex.Message);
        Assert.NotNull(ex.Line);
    }

    [Fact]
    public void Parse_UniformGeneratedRecords_RoundTripAsTables()
    {
        RecordGenerators.UniformRecords.Sample(records =>
        {
            var text = Toon.Render(records);
            var parsed = Toon.Parse(text);
            return text.Split('\n')[0].EndsWith("}:", StringComparison.Ordinal)
                && records.Zip(parsed).All(p => JsonNode.DeepEquals(p.First, p.Second));
        }, iter: 300);
    }
}
