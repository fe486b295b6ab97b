using System.Text.Json.Nodes;
using System.Xml.Linq;
using CsCheck;
using EvalMesh.Evaluation.Formats;
using EvalMesh.Evaluation.Generation;

namespace EvalMesh.Evaluation.Tests.Formats;

public class RecordFormatsTests
{
    private static readonly IReadOnlyList<JsonObject> Slack = SlackGenerator.Generate(new SlackGeneratorOptions()).Messages;

    public static TheoryData<string> AllNames() => [.. RecordFormats.Names];

    public static TheoryData<string> ParsableNames() => ["oneline-json", "pretty-json", "csv", "toon"];

    [Fact]
    public void Names_AreTheEightFormatsOfTheIssue()
    {
        Assert.Equal(["oneline-json", "pretty-json", "csv", "yaml", "markdown-table", "markdown-kv", "xml", "toon"], RecordFormats.Names);
    }

    [Fact]
    public void Get_UnknownName_ListsTheKnownOnesAndSuggests()
    {
        var ex = Assert.Throws<UnknownNameException>(() => RecordFormats.Get("tomlx"));
        Assert.Contains("unknown format 'tomlx'", ex.Message);
        foreach (var name in RecordFormats.Names)
        {
            Assert.Contains(name, ex.Message);
        }

        Assert.Contains("did you mean 'toon'", Assert.Throws<UnknownNameException>(() => RecordFormats.Get("tooon")).Message);
    }

    [Theory]
    [MemberData(nameof(AllNames))]
    public void Render_SameRecordsTwice_GivesTheSameText(string name)
    {
        var format = RecordFormats.Get(name);
        var again = SlackGenerator.Generate(new SlackGeneratorOptions()).Messages;
        Assert.Equal(format.Render(Slack), format.Render(again));
    }

    [Theory]
    [MemberData(nameof(AllNames))]
    public void Render_KeepsJapaneseTextReadable(string name)
    {
        var text = RecordFormats.Get(name).Render([new JsonObject { ["text"] = "BigQueryのコスト" }]);
        Assert.Contains("BigQueryのコスト", text);
    }

    [Theory]
    [MemberData(nameof(AllNames))]
    public void Render_EmptyKeys_AreRendered(string name)
    {
        // Found by DatasetReaderFuzzTests: a CSV column named "." unflattens to empty keys, and XML threw on them.
        var text = RecordFormats.Get(name).Render([new JsonObject { [""] = 1, ["a"] = new JsonObject { [""] = "inner" } }]);
        Assert.Contains("inner", text);
    }

    [Theory]
    [MemberData(nameof(ParsableNames))]
    public void Parse_SlackDataset_GivesBackTheRecords(string name)
    {
        var format = RecordFormats.Get(name);
        var parsed = ((IRecordParser)format).Parse(format.Render(Slack));
        Assert.Equal(Slack.Count, parsed.Count);
        if (name == "csv")
        {
            AssertSameFlatText(Slack, parsed);
        }
        else
        {
            Assert.All(Slack.Zip(parsed), pair => Assert.True(JsonNode.DeepEquals(pair.First, pair.Second), $"{pair.First.ToJsonString()}\n!=\n{pair.Second.ToJsonString()}"));
        }
    }

    [Theory]
    [InlineData("oneline-json")]
    [InlineData("pretty-json")]
    [InlineData("toon")]
    public void Parse_GeneratedNestedRecords_RoundTripsExactly(string name)
    {
        var format = RecordFormats.Get(name);
        RecordGenerators.Records.Sample(records =>
        {
            var text = format.Render(records);
            var parsed = ((IRecordParser)format).Parse(text);
            return parsed.Count == records.Count && records.Zip(parsed).All(p => JsonNode.DeepEquals(p.First, p.Second));
        }, iter: 400);
    }

    [Fact]
    public void Csv_GeneratedNestedRecords_RoundTripsAsFlatText()
    {
        var csv = RecordFormats.Get("csv");
        RecordGenerators.Records.Sample(records =>
        {
            var parsed = ((IRecordParser)csv).Parse(csv.Render(records));
            AssertSameFlatText(records, parsed);
        }, iter: 400);
    }

    [Fact]
    public void Csv_QuotesCommasAndNewlines_Survive()
    {
        var record = new JsonObject { ["a"] = "x,y", ["b"] = "say \"hi\"", ["c"] = "line1\nline2\r\nline3", ["user"] = new JsonObject { ["name"] = "Yuki" }, ["tags"] = new JsonArray("a", "b") };
        var text = RecordFormats.Get("csv").Render([record]);
        Assert.Equal("a,b,c,user.name,tags\r\n\"x,y\",\"say \"\"hi\"\"\",\"line1\nline2\r\nline3\",Yuki,\"[\"\"a\"\",\"\"b\"\"]\"", text);
        var parsed = Assert.Single(((IRecordParser)RecordFormats.Get("csv")).Parse(text));
        Assert.Equal("line1\nline2\r\nline3", parsed["c"]!.GetValue<string>());
        Assert.Equal("[\"a\",\"b\"]", parsed["tags"]!.GetValue<string>());
    }

    [Fact]
    public void Yaml_GeneratedNestedRecords_LoadBackWithTheirTypes()
    {
        var yaml = RecordFormats.Get("yaml");
        RecordGenerators.Records.Sample(records =>
        {
            var stream = new YamlDotNet.RepresentationModel.YamlStream();
            stream.Load(new StringReader(yaml.Render(records)));
            var loaded = (JsonArray)EvalMesh.Evaluation.Configuration.YamlJson.ToJson(stream.Documents[0].RootNode)!;
            return records.Zip(loaded).All(p => JsonNode.DeepEquals(p.First, p.Second));
        }, iter: 300);
    }

    [Fact]
    public void Xml_GeneratedNestedRecords_IsWellFormedWithOneElementPerRecord()
    {
        var xml = RecordFormats.Get("xml");
        RecordGenerators.Records.Sample(records => XDocument.Parse(xml.Render(records)).Root!.Elements("record").Count() == records.Count, iter: 300);
    }

    [Fact]
    public void MarkdownTable_KeepsEachRecordOnOneRowAndEscapesPipes()
    {
        var text = RecordFormats.Get("markdown-table").Render([new JsonObject { ["a"] = "x|y", ["b"] = "1\n2" }, new JsonObject { ["a"] = "z" }]);
        Assert.Equal("| a | b |\n| --- | --- |\n| x\\|y | 1<br>2 |\n| z |  |", text);
    }

    [Fact]
    public void MarkdownKv_WritesAHeadingAndFlattenedKeysPerRecord()
    {
        var text = RecordFormats.Get("markdown-kv").Render([new JsonObject { ["user"] = new JsonObject { ["name"] = "Yuki" }, ["text"] = "a\nb" }]);
        Assert.Equal("## Record 1\n\n```\nuser.name: Yuki\ntext: \"a\\nb\"\n```", text);
    }

    [Fact]
    public void Xml_InvalidElementNames_BecomeFieldElements()
    {
        var text = RecordFormats.Get("xml").Render([new JsonObject { ["my key"] = 1, ["ok"] = null }]);
        Assert.Equal("<records>\n  <record>\n    <field name=\"my key\">1</field>\n    <ok null=\"true\" />\n  </record>\n</records>", text);
    }

    private static void AssertSameFlatText(IReadOnlyList<JsonObject> records, IReadOnlyList<JsonObject> parsed)
    {
        var columns = FlatRecords.From(records).Columns;
        Assert.Equal(records.Count, parsed.Count);
        foreach (var (record, row) in records.Zip(parsed))
        {
            var flat = FlatRecords.Flatten(record);
            Assert.Equal(columns, row.Select(p => p.Key));
            foreach (var column in columns)
            {
                Assert.Equal(flat.GetValueOrDefault(column, string.Empty), row[column]!.GetValue<string>());
            }
        }
    }
}
