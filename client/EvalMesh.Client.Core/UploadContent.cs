using System.Text.Json;
using System.Text.Json.Serialization;
using EvalMesh.Abstractions;
using EvalMesh.Evaluation;
using EvalMesh.Evaluation.Datasets;
using EvalMesh.Evaluation.Formats;
using EvalMesh.Evaluation.Scoring;
using EvalMesh.Evaluation.Suites;

namespace EvalMesh.Client;

/// <summary>A dataset or suite ready to upload: its content id and content.</summary>
/// <param name="Id">The content id (the grain key).</param>
/// <param name="Name">The name.</param>
/// <param name="Content">JSON Lines (datasets) or JSON (suites).</param>
public sealed record Upload(string Id, string Name, string Content);

/// <summary>
/// The form in which datasets and suites travel and are stored, and their content ids. A dataset is its records as
/// JSON Lines (one-line JSON each) and its id is that of its records (<see cref="Evaluation.Datasets.Dataset.Id"/>), so the
/// same records read from CSV or JSON are one upload; a suite is its cases as JSON and its id is
/// <see cref="ContentId.Of"/> of that text. What a client builds here a silo reads back with
/// <see cref="ReadDataset"/> and <see cref="ReadSuite"/>, which check the content and its id.
/// </summary>
public static class UploadContent
{
    /// <summary>How test cases travel as JSON (the silo's shards read them with the same options).</summary>
    public static JsonSerializerOptions CaseJson { get; } = new(JsonSerializerDefaults.Web);

    // Reading what a client sent: a misspelt key is an error rather than a case without it.
    private static readonly JsonSerializerOptions SentCaseJson = new(CaseJson) { UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow };

    /// <summary>A dataset as it is uploaded and stored.</summary>
    public static Upload Dataset(Dataset dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        return new Upload(dataset.Id, dataset.Name, JsonLines.Write(dataset.Records));
    }

    /// <summary>A suite's cases as they are uploaded and stored.</summary>
    public static Upload Suite(string name, IReadOnlyList<TestCase> cases)
    {
        var json = JsonSerializer.Serialize(cases, CaseJson);
        return new Upload(ContentId.Of(json), name, json);
    }

    /// <summary>Reads a dataset a client sent as JSON Lines, checking that it holds records whose content id is <paramref name="id"/>.</summary>
    /// <param name="id">The content id the client named it by.</param>
    /// <param name="name">A name for people.</param>
    /// <param name="jsonLines">One JSON object per line.</param>
    /// <param name="source">What errors call the content, such as "request body".</param>
    /// <exception cref="EvalMeshInputException">The content is not a dataset, or its id is another.</exception>
    public static Upload ReadDataset(string id, string name, string jsonLines, string source)
    {
        var records = DatasetReader.ParseJsonLines(jsonLines, source);
        if (records.Count == 0)
        {
            throw new EvalMeshInputException("the dataset holds no records", source);
        }

        var dataset = Evaluation.Datasets.Dataset.Create(name, records);
        return dataset.Id == id ? Dataset(dataset) : throw Mismatch("dataset", id, dataset.Id, source);
    }

    /// <summary>Reads a suite a client sent as JSON, checking that its content id is <paramref name="id"/> and its cases are valid.</summary>
    /// <param name="id">The content id the client named it by.</param>
    /// <param name="name">A name for people.</param>
    /// <param name="json">The cases, as <see cref="Suite"/> writes them.</param>
    /// <param name="source">What errors call the content, such as "request body".</param>
    /// <exception cref="EvalMeshInputException">The content is not a list of valid cases, or its id is another.</exception>
    public static Upload ReadSuite(string id, string name, string json, string source)
    {
        ArgumentNullException.ThrowIfNull(json);
        var actual = ContentId.Of(json);
        if (actual != id)
        {
            throw Mismatch("suite", id, actual, source);
        }

        ReadCases(json, source, SentCaseJson);
        return new Upload(id, name, json);
    }

    /// <summary>A stored suite's cases.</summary>
    /// <exception cref="EvalMeshInputException">The JSON is not a list of valid cases.</exception>
    public static IReadOnlyList<TestCase> ReadCases(string json, string source) => ReadCases(json, source, CaseJson);

    private static List<TestCase> ReadCases(string json, string source, JsonSerializerOptions options)
    {
        List<TestCase?>? cases;
        try
        {
            cases = JsonSerializer.Deserialize<List<TestCase?>>(json, options);
        }
        catch (JsonException ex)
        {
            throw new EvalMeshInputException($"invalid JSON: {JsonRecords.Problem(ex)}", source, (int?)ex.LineNumber + 1, (int?)ex.BytePositionInLine + 1, innerException: ex);
        }

        if (cases is not { Count: > 0 })
        {
            throw new EvalMeshInputException("expected a JSON array of at least one test case", source);
        }

        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < cases.Count; i++)
        {
            var problem = Problem(cases[i], ids);
            if (problem is { } found)
            {
                throw new EvalMeshInputException(found.Problem, source, setting: $"[{i}]{found.Key}");
            }
        }

        return cases!;
    }

    // What is wrong with one case, under which key; the checks a suite file's cases get (SuiteFile.ReadCases).
    private static (string Key, string Problem)? Problem(TestCase? testCase, HashSet<string> ids) => testCase switch
    {
        null => (string.Empty, "expected a test case object"),
        { Id: null or "" } => (".id", "is required"),
        _ when !ids.Add(testCase.Id) => (".id", $"duplicate test case id '{testCase.Id}'"),
        { Question: null or "" } => (".question", "is required"),
        { Expected: null or { Count: 0 } } => (".expected", "is required: a list of at least one value"),
        _ when testCase.Expected.Any(e => e is null) => (".expected", "must hold strings, not null"),
        { Scorer: null } or { Scorer.Type: null } => (".scorer", "is required: a type, such as exact"),
        _ when !ScorerFactory.Names.Contains(testCase.Scorer.Type, StringComparer.Ordinal) => (".scorer", new UnknownNameException("scorer", testCase.Scorer.Type, ScorerFactory.Names).Message),
        _ when ScorerFactory.CheckExpected(testCase.Scorer.Type, testCase.Expected) is { } wrong => (".expected", wrong),
        { Tags: null } => (".tags", "is required: a list (empty for none)"),
        { Records: { } records } when records.Count == 0 || records.Any(n => n < 1) || records.Distinct().Count() != records.Count => (".records", "must name distinct record numbers from 1 (or be left out for the whole dataset)"),
        _ => null,
    };

    private static EvalMeshInputException Mismatch(string what, string named, string actual, string source) =>
        new($"the {what}'s content id is {actual}, not {named}: a content id names exactly one content, so send it as {actual}", source);
}
