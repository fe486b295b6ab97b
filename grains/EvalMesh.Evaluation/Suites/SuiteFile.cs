using System.Globalization;
using EvalMesh.Evaluation.Configuration;
using EvalMesh.Evaluation.Scoring;
using YamlDotNet.Serialization;

namespace EvalMesh.Evaluation.Suites;

/// <summary>Reads and writes test suites as YAML (<c>suite.yaml</c>).</summary>
public static class SuiteFile
{
    /// <summary>Reads a suite file.</summary>
    /// <param name="path">The file.</param>
    /// <param name="datasetRecords">
    /// The number of records of the dataset the suite is run over, when known: a case's <c>records</c> must then name
    /// records 1 to this.
    /// </param>
    /// <exception cref="EvalMeshInputException">The file is missing or invalid; the message names file, line and key.</exception>
    public static TestSuite Read(string path, int? datasetRecords = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new EvalMeshInputException("file not found", path);
        }

        var root = YamlObject.Parse(File.ReadAllText(path), path);
        root.AllowOnly("name", "dataset", "cases");
        return new TestSuite(
            root.Text("name") ?? Path.GetFileNameWithoutExtension(path),
            root.Text("dataset"),
            ReadCases(root, "cases", datasetRecords));
    }

    /// <summary>
    /// Reads a list of cases under <paramref name="key"/>, checking ids are unique, scorers valid and record numbers
    /// distinct, at least 1 and (when <paramref name="datasetRecords"/> is known) records of the dataset.
    /// </summary>
    public static IReadOnlyList<TestCase> ReadCases(YamlObject parent, string key, int? datasetRecords = null)
    {
        ArgumentNullException.ThrowIfNull(parent);
        var cases = new List<TestCase>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in parent.MappingList(key))
        {
            item.AllowOnly("id", "question", "expected", "scorer", "tags", "records", "review");
            var id = item.Text("id") ?? $"case-{cases.Count + 1:D3}";
            if (!ids.Add(id))
            {
                throw item.Error("id", $"duplicate test case id '{id}'");
            }

            var scorer = ReadScorer(item);
            var expected = scorer.Type is "json-equals" or "json-schema"
                ? (item.JsonText("expected") is { } json ? [json] : throw item.Error("expected", "is required"))
                : item.TextList("expected") ?? throw item.Error("expected", "is required");
            if (ScorerFactory.CheckExpected(scorer.Type, expected) is { } problem)
            {
                throw item.Error("expected", problem);
            }

            cases.Add(new TestCase(id, item.RequiredText("question"), expected, scorer, item.TextList("tags") ?? [], ReadRecords(item, datasetRecords), item.Flag("review") ?? false));
        }

        return cases;
    }

    // A case's retrieved context: distinct record numbers from 1, kept in dataset order whatever order they are written in.
    private static List<int>? ReadRecords(YamlObject item, int? datasetRecords)
    {
        if (item.TextList("records") is not { } texts)
        {
            return null;
        }

        var records = new List<int>(texts.Count);
        for (var i = 0; i < texts.Count; i++)
        {
            if (!int.TryParse(texts[i], NumberStyles.None, CultureInfo.InvariantCulture, out var record) || record < 1)
            {
                throw item.ItemError("records", i, $"'{texts[i]}' is not a record number (a whole number from 1)");
            }

            if (record > datasetRecords)
            {
                throw item.ItemError("records", i, $"record {record} is not in the dataset, which has {datasetRecords} records");
            }

            if (records.Contains(record))
            {
                throw item.ItemError("records", i, $"record {record} is named twice");
            }

            records.Add(record);
        }

        return records.Count > 0 ? [.. records.Order()] : throw item.Error("records", "must name at least one record");
    }

    /// <summary>Reads <c>scorer</c>: a name, or a mapping with <c>type</c> and options. Defaults to <c>exact</c>.</summary>
    public static ScorerSpec ReadScorer(YamlObject item)
    {
        ArgumentNullException.ThrowIfNull(item);
        ScorerSpec spec;
        if (!item.Has("scorer"))
        {
            spec = new ScorerSpec("exact");
        }
        else if (item.IsScalar("scorer"))
        {
            spec = new ScorerSpec(item.RequiredText("scorer"));
        }
        else
        {
            var options = item.Mapping("scorer")!;
            options.AllowOnly("type", "trim", "ignore-case", "nfkc", "tolerance", "min-f1", "rubric");
            spec = new ScorerSpec(
                options.RequiredText("type"),
                options.Flag("trim") ?? true,
                options.Flag("ignore-case") ?? false,
                options.Flag("nfkc") ?? true,
                options.Number("tolerance", 0) ?? 0,
                options.Number("min-f1", 0, 1),
                options.Text("rubric"));
        }

        if (!ScorerFactory.Names.Contains(spec.Type, StringComparer.Ordinal))
        {
            throw item.Error("scorer", new UnknownNameException("scorer", spec.Type, ScorerFactory.Names).Message);
        }

        return spec;
    }

    /// <summary>Writes a suite file.</summary>
    public static void Write(TestSuite suite, string path)
    {
        ArgumentNullException.ThrowIfNull(suite);
        var document = new Dictionary<string, object?>
        {
            ["name"] = suite.Name,
            ["dataset"] = suite.Dataset,
            ["cases"] = suite.Cases.Select(CaseDocument).ToList(),
        };
        var yaml = new SerializerBuilder().WithIndentedSequences().DisableAliases().Build().Serialize(document);
        File.WriteAllText(path, yaml);
    }

    private static Dictionary<string, object> CaseDocument(TestCase testCase)
    {
        var document = new Dictionary<string, object>
        {
            ["id"] = testCase.Id,
            ["tags"] = testCase.Tags,
            ["question"] = testCase.Question,
            ["scorer"] = ScorerDocument(testCase.Scorer),
            ["expected"] = testCase.Expected,
        };
        if (testCase.Records is { } records)
        {
            document["records"] = records;
        }

        if (testCase.Review)
        {
            document["review"] = true;
        }

        return document;
    }

    private static object ScorerDocument(ScorerSpec spec)
    {
        var defaults = new ScorerSpec(spec.Type);
        if (spec == defaults)
        {
            return spec.Type;
        }

        var options = new Dictionary<string, object> { ["type"] = spec.Type };
        AddIfChanged(options, "trim", spec.Trim, defaults.Trim);
        AddIfChanged(options, "ignore-case", spec.IgnoreCase, defaults.IgnoreCase);
        AddIfChanged(options, "nfkc", spec.Nfkc, defaults.Nfkc);
        AddIfChanged(options, "tolerance", spec.Tolerance, defaults.Tolerance);
        AddIfChanged(options, "min-f1", spec.MinF1, defaults.MinF1);
        AddIfChanged(options, "rubric", spec.Rubric, defaults.Rubric);
        return options;
    }

    private static void AddIfChanged<T>(Dictionary<string, object> options, string key, T value, T defaultValue)
    {
        if (!EqualityComparer<T>.Default.Equals(value, defaultValue) && value is not null)
        {
            options[key] = value;
        }
    }
}
