using EvalMesh.Abstractions;
using EvalMesh.Evaluation;
using EvalMesh.Evaluation.Configuration;
using EvalMesh.Evaluation.Datasets;
using EvalMesh.Evaluation.Generation;
using EvalMesh.Evaluation.Suites;

namespace EvalMesh.Client;

/// <summary>A config turned into a run spec plus the datasets and suites the cluster needs.</summary>
/// <param name="Spec">The spec.</param>
/// <param name="Datasets">Datasets to upload.</param>
/// <param name="Suites">Suites to upload.</param>
public sealed record PreparedRun(RunSpec Spec, IReadOnlyList<Upload> Datasets, IReadOnlyList<Upload> Suites)
{
    /// <summary>Stores the datasets and suites <paramref name="store"/> does not hold yet, so that nothing is sent twice.</summary>
    public async Task UploadMissingAsync(IRunInputStore store, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        await Task.WhenAll(Datasets.Select(async d =>
        {
            if (!await store.HasDatasetAsync(d.Id, cancellationToken).ConfigureAwait(false))
            {
                await store.PutDatasetAsync(d, cancellationToken).ConfigureAwait(false);
            }
        })).ConfigureAwait(false);
        await Task.WhenAll(Suites.Select(async s =>
        {
            if (!await store.HasSuiteAsync(s.Id, cancellationToken).ConfigureAwait(false))
            {
                await store.PutSuiteAsync(s, cancellationToken).ConfigureAwait(false);
            }
        })).ConfigureAwait(false);
    }
}

/// <summary>
/// Loads a config's datasets and suites (files, generators, inline cases, or uploads the cluster already holds) and
/// builds the run spec. Both SDK flavours and the REST API prepare runs here.
/// </summary>
public static class RunSpecBuilder
{
    /// <summary>Cells per shard.</summary>
    public const int DefaultShardSize = 512;

    /// <summary>Prepares a run; datasets and suites named by <c>upload: ID</c> are looked up in <paramref name="store"/>.</summary>
    /// <exception cref="EvalMeshInputException">A dataset or suite file is missing or malformed, or an upload is not in the store.</exception>
    public static async Task<PreparedRun> PrepareAsync(EvalConfig config, IRunInputStore store, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(store);
        var datasets = new Dictionary<string, (string Id, Upload? Upload, SlackDataset? Generated)>(StringComparer.Ordinal);
        foreach (var (index, dataset) in config.Datasets.Index())
        {
            if (dataset.Upload is { } id)
            {
                datasets[dataset.Name] = await store.HasDatasetAsync(id, cancellationToken).ConfigureAwait(false)
                    ? (id, null, null)
                    : throw NotUploaded(config, $"datasets[{index}].upload", "dataset", id);
            }
            else if (dataset.Generate is { } generate)
            {
                var generated = SlackGenerator.Generate(generate);
                var records = Dataset.Create(dataset.Name, generated.Messages);
                datasets[dataset.Name] = (records.Id, UploadContent.Dataset(records), generated);
            }
            else
            {
                var records = DatasetReader.Read(dataset.Path!);
                datasets[dataset.Name] = (records.Id, UploadContent.Dataset(records), null);
            }
        }

        var suites = new List<SuiteRef>();
        var suiteUploads = new List<Upload>();
        foreach (var (index, suite) in config.Suites.Index())
        {
            Upload? stored = null;
            IReadOnlyList<TestCase> cases;
            if (suite.Upload is { } id)
            {
                var json = await store.GetSuiteAsync(id, cancellationToken).ConfigureAwait(false) ?? throw NotUploaded(config, $"suites[{index}].upload", "suite", id);
                stored = new Upload(id, suite.Name, json);
                cases = UploadContent.ReadCases(json, $"suite {id}");
            }
            else
            {
                cases = suite.Path is { } path ? SuiteFile.Read(path).Cases
                    : suite.Generated ? datasets[suite.Dataset].Generated!.Suite.Cases
                    : suite.Cases;
            }

            if (cases.Count == 0)
            {
                throw new EvalMeshInputException($"suite '{suite.Name}' has no test cases", suite.Path ?? config.File);
            }

            if (config.Judge is null && cases.FirstOrDefault(c => c.Scorer.Type == "llm-judge") is { } judged)
            {
                throw new EvalMeshInputException($"case '{judged.Id}' uses the llm-judge scorer, so the config needs a 'judge' endpoint", suite.Path ?? config.File, setting: "judge");
            }

            // An upload the limit leaves whole is used as it is; otherwise the cases the run uses are stored apart.
            var upload = stored is not null && (config.Limit is null || config.Limit >= cases.Count)
                ? stored
                : UploadContent.Suite(suite.Name, config.Limit is { } limit ? [.. cases.Take(limit)] : cases);
            suiteUploads.Add(upload);
            suites.Add(new SuiteRef(suite.Name, upload.Id, datasets[suite.Dataset].Id, Math.Min(cases.Count, config.Limit ?? int.MaxValue)));
        }

        var datasetUploads = datasets.Values
            .Where(d => d.Upload is not null)
            .Select(d => d.Upload!)
            .DistinctBy(u => u.Id)
            .ToList();
        var spec = new RunSpec(config.Description, suites, config.Formats, config.Tokenizers, config.Endpoints, config.Adapters, config.Judge, config.Prompt, config.Repeats, config.Concurrency, DefaultShardSize, config.Schedule, config.Limit, config.Recommend);
        return new PreparedRun(spec, datasetUploads, [.. suiteUploads.DistinctBy(u => u.Id)]);
    }

    private static EvalMeshInputException NotUploaded(EvalConfig config, string key, string what, string id) =>
        new($"no {what} has been uploaded as {id}: upload it first (PUT /api/{what}s/{id}); evalmesh run --server and the HTTP SDK upload what a config names", config.File, setting: key);
}
