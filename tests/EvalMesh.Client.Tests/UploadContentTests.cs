using EvalMesh.Abstractions;
using EvalMesh.Evaluation;
using EvalMesh.Evaluation.Datasets;
using EvalMesh.Evaluation.Scoring;
using EvalMesh.Evaluation.Suites;

namespace EvalMesh.Client.Tests;

/// <summary>What a silo accepts as an upload: the content a client builds, under its own content id, and nothing else.</summary>
public sealed class UploadContentTests
{
    private static readonly TestCase Case = new("q1", "Who?", ["ana"], new ScorerSpec("exact"), []);

    [Fact]
    public void ReadDataset_WhatAClientBuilds_IsAcceptedUnderItsId_InAnyLayout()
    {
        var upload = UploadContent.Dataset(Dataset.Create("people", DatasetReader.ParseJsonLines("{\"id\": 1, \"name\": \"ana\"}\n{\"id\": 2}\n", "test")));
        Assert.Equal(upload, UploadContent.ReadDataset(upload.Id, "people", upload.Content, "request body"));

        // The id is the records', not the text's: spacing and blank lines do not change it.
        Assert.Equal(upload.Id, UploadContent.ReadDataset(upload.Id, "people", "\n{ \"id\" : 1 ,\"name\":\"ana\" }\n\n{\"id\":2}", "request body").Id);
    }

    [Fact]
    public void ReadDataset_AnotherId_SaysWhichIdTheContentHas()
    {
        var upload = UploadContent.Dataset(Dataset.Create("people", DatasetReader.ParseJsonLines("{\"id\": 1}\n", "test")));
        var error = Assert.Throws<EvalMeshInputException>(() => UploadContent.ReadDataset("0123456789abcdef", "people", upload.Content, "request body"));
        Assert.Equal($"request body: the dataset's content id is {upload.Id}, not 0123456789abcdef: a content id names exactly one content, so send it as {upload.Id}", error.Message);
    }

    [Fact]
    public void ReadSuite_WhatAClientBuilds_IsAccepted_AnotherIdIsNot()
    {
        var upload = UploadContent.Suite("s", [Case]);
        Assert.Equal(upload, UploadContent.ReadSuite(upload.Id, "s", upload.Content, "request body"));
        Assert.Equal(upload.Id, ContentId.Of(upload.Content));
        var error = Assert.Throws<EvalMeshInputException>(() => UploadContent.ReadSuite("0123456789abcdef", "s", upload.Content, "request body"));
        Assert.StartsWith($"request body: the suite's content id is {upload.Id}, not 0123456789abcdef", error.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> BadSuites() => new()
    {
        { "[]", "request body: expected a JSON array of at least one test case" },
        { "null", "request body: expected a JSON array of at least one test case" },
        { "[null]", "request body: '[0]': expected a test case object" },
        { "[{\"question\":\"q\",\"expected\":[\"a\"],\"scorer\":{\"type\":\"exact\"},\"tags\":[]}]", "request body: '[0].id': is required" },
        { "[{\"id\":\"a\",\"question\":\"q\",\"expected\":[\"a\"],\"scorer\":{\"type\":\"exact\"},\"tags\":[]},{\"id\":\"a\",\"question\":\"q\",\"expected\":[\"a\"],\"scorer\":{\"type\":\"exact\"},\"tags\":[]}]", "request body: '[1].id': duplicate test case id 'a'" },
        { "[{\"id\":\"a\",\"expected\":[\"a\"],\"scorer\":{\"type\":\"exact\"},\"tags\":[]}]", "request body: '[0].question': is required" },
        { "[{\"id\":\"a\",\"question\":\"q\",\"expected\":[],\"scorer\":{\"type\":\"exact\"},\"tags\":[]}]", "request body: '[0].expected': is required: a list of at least one value" },
        { "[{\"id\":\"a\",\"question\":\"q\",\"expected\":[\"a\"],\"tags\":[]}]", "request body: '[0].scorer': is required: a type, such as exact" },
        { "[{\"id\":\"a\",\"question\":\"q\",\"expected\":[\"(\"],\"scorer\":{\"type\":\"regex\"},\"tags\":[]}]", "request body: '[0].expected': invalid regular expression: {...}" },
        { "[{\"id\":\"a\",\"question\":\"q\",\"expected\":[\"{\"],\"scorer\":{\"type\":\"json-equals\"},\"tags\":[]}]", "request body: '[0].expected': not valid JSON" },
        { "[{\"id\":\"a\",\"question\":\"q\",\"expected\":[\"a\"],\"scorer\":{\"type\":\"exact\"}}]", "request body: '[0].tags': is required: a list (empty for none)" },
        { "[{\"id\":\"a\",\"question\":\"q\",\"expected\":[\"a\"],\"scorer\":{\"type\":\"exact\"},\"tags\":[],\"records\":[2,2]}]", "request body: '[0].records': must name distinct record numbers from 1 (or be left out for the whole dataset)" },
        { "[{\"id\":\"a\",\"question\":\"q\",\"expected\":[\"a\"],\"scorer\":{\"type\":\"exact\"},\"tags\":[],\"extra\":1}]", "request body:1:{...}: invalid JSON: The JSON property 'extra' could not be mapped to any .NET member contained in type{...}" },
        { "[{\"id\":\"a\",", "request body:1:{...}: invalid JSON: {...}" },
    };

    [Theory]
    [MemberData(nameof(BadSuites))]
    public void ReadSuite_BadCases_AreRefusedNamingTheKey(string json, string expected)
    {
        var error = Assert.Throws<EvalMeshInputException>(() => UploadContent.ReadSuite(ContentId.Of(json), "s", json, "request body"));
        Assert.Matches($"^{string.Join(".*", expected.Split("{...}").Select(System.Text.RegularExpressions.Regex.Escape))}$", error.Message);
    }

    [Fact]
    public async Task PrepareAsync_AnUploadedCaseNamingARecordBeyondItsDataset_IsRefused()
    {
        var store = new MemoryRunInputStore();
        var dataset = UploadContent.Dataset(Dataset.Create("d", DatasetReader.ParseJsonLines("{\"id\": 1}\n{\"id\": 2}\n", "test")));
        var suite = UploadContent.Suite("s", [Case with { Records = [1, 3] }]);
        await store.PutDatasetAsync(dataset, TestContext.Current.CancellationToken);
        await store.PutSuiteAsync(suite, TestContext.Current.CancellationToken);
        var config = Evaluation.Configuration.ConfigLoader.ParseSent($$"""
            datasets: [{ name: d, upload: {{dataset.Id}} }]
            suites: [{ name: s, dataset: d, upload: {{suite.Id}} }]
            endpoints: [{ name: echo, type: echo }]
            """, "request body");
        var error = await Assert.ThrowsAsync<EvalMeshInputException>(() => RunSpecBuilder.PrepareAsync(config, store, cancellationToken: TestContext.Current.CancellationToken));
        Assert.Equal("request body: 'suites[0]': case 'q1' names record 3, but dataset 'd' has 2 records", error.Message);
    }
}
