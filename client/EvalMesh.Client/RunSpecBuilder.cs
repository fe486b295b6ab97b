using System.Text;
using System.Text.Json;
using EvalMesh.Abstractions;
using EvalMesh.Evaluation;
using EvalMesh.Evaluation.Configuration;
using EvalMesh.Evaluation.Datasets;
using EvalMesh.Evaluation.Formats;
using EvalMesh.Evaluation.Generation;
using EvalMesh.Evaluation.Retrieval;
using EvalMesh.Evaluation.Suites;

namespace EvalMesh.Client;

/// <summary>A dataset or suite ready to upload: its content id and content.</summary>
/// <param name="Id">The content id (the grain key).</param>
/// <param name="Name">The name.</param>
/// <param name="Content">JSON Lines (datasets) or JSON (suites).</param>
public sealed record Upload(string Id, string Name, string Content);

/// <summary>A config turned into a run spec plus the datasets and suites the cluster needs.</summary>
/// <param name="Spec">The spec.</param>
/// <param name="Datasets">Datasets to upload.</param>
/// <param name="Suites">Suites to upload.</param>
public sealed record PreparedRun(RunSpec Spec, IReadOnlyList<Upload> Datasets, IReadOnlyList<Upload> Suites);

/// <summary>Loads a config's datasets and suites (files, generators, inline cases) and builds the run spec.</summary>
public static class RunSpecBuilder
{
    /// <summary>Cells per shard.</summary>
    public const int DefaultShardSize = 512;

    /// <summary>Prepares a run.</summary>
    /// <exception cref="EvalMeshInputException">A dataset or suite file is missing or malformed.</exception>
    public static PreparedRun Prepare(EvalConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var datasets = new Dictionary<string, (Dataset Dataset, SlackDataset? Generated)>(StringComparer.Ordinal);
        foreach (var dataset in config.Datasets)
        {
            if (dataset.Generate is { } generate)
            {
                var generated = SlackGenerator.Generate(generate);
                datasets[dataset.Name] = (Dataset.Create(dataset.Name, generated.Messages), generated);
            }
            else
            {
                datasets[dataset.Name] = (DatasetReader.Read(dataset.Path!), null);
            }
        }

        var suites = new List<SuiteRef>();
        var suiteUploads = new List<Upload>();
        foreach (var suite in config.Suites)
        {
            var cases = suite.Path is { } path ? SuiteFile.Read(path, datasets[suite.Dataset].Dataset.Records.Count).Cases
                : suite.Generated ? datasets[suite.Dataset].Generated!.Suite.Cases
                : suite.Cases;
            if (cases.Count == 0)
            {
                throw new EvalMeshInputException($"suite '{suite.Name}' has no test cases", suite.Path ?? config.File);
            }

            if (config.Judge is null && cases.FirstOrDefault(c => c.Scorer.Type == "llm-judge") is { } judged)
            {
                throw new EvalMeshInputException($"case '{judged.Id}' uses the llm-judge scorer, so the config needs a 'judge' endpoint", suite.Path ?? config.File, setting: "judge");
            }

            if (config.Limit is { } limit)
            {
                cases = [.. cases.Take(limit)];
            }

            var records = datasets[suite.Dataset].Dataset.Records;
            if (suite.Retrieve is { } retrieve)
            {
                using var retriever = new Bm25Retriever(records);
                cases = [.. cases.Select(c => c.Records is null ? c with { Records = retriever.Retrieve(c.Question, retrieve.K) } : c)];
            }

            var json = JsonSerializer.Serialize(cases, JsonOptions);
            var id = ContentId.Of(json);
            suiteUploads.Add(new Upload(id, suite.Name, json));
            var retrieved = cases.Any(c => c.Records is not null);
            var context = suite.Retrieve?.ToString() ?? (retrieved ? "records listed per case" : null);
            suites.Add(new SuiteRef(suite.Name, id, datasets[suite.Dataset].Dataset.Id, cases.Count, context, retrieved ? ContextRecall.Of(records, cases)?.Recall : null));
        }

        var datasetUploads = datasets.Values
            .Select(d => new Upload(d.Dataset.Id, d.Dataset.Name, JsonLines(d.Dataset)))
            .DistinctBy(u => u.Id)
            .ToList();
        var spec = new RunSpec(config.Description, suites, config.Formats, config.Tokenizers, config.Endpoints, config.Adapters, config.Judge, config.Prompt, config.Repeats, config.Concurrency, DefaultShardSize, config.Schedule, config.Limit, config.Recommend, config.System);
        return new PreparedRun(spec, datasetUploads, suiteUploads);
    }

    /// <summary>How test cases travel (the silo reads them with the same options).</summary>
    public static JsonSerializerOptions JsonOptions { get; } = new(JsonSerializerDefaults.Web);

    private static string JsonLines(Dataset dataset)
    {
        var oneLine = RecordFormats.Get("oneline-json");
        var text = new StringBuilder();
        foreach (var record in dataset.Records)
        {
            text.Append(oneLine.Render([record])[1..^1]).Append('\n');
        }

        return text.ToString();
    }
}
