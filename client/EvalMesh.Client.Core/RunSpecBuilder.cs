using System.Text.Json.Nodes;
using EvalMesh.Abstractions;
using EvalMesh.Evaluation;
using EvalMesh.Evaluation.Configuration;
using EvalMesh.Evaluation.Datasets;
using EvalMesh.Evaluation.Generation;
using EvalMesh.Evaluation.Retrieval;
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

    /// <summary>
    /// Prepares a run; datasets and suites named by <c>upload: ID</c> are looked up in <paramref name="store"/>. With
    /// <paramref name="contexts"/> (where a model host is), the prompts are checked to fit each llama endpoint's context.
    /// </summary>
    /// <exception cref="EvalMeshInputException">
    /// A dataset or suite file is missing or malformed, an upload is not in the store, or a prompt does not fit a
    /// llama endpoint's context window.
    /// </exception>
    public static async Task<PreparedRun> PrepareAsync(EvalConfig config, IRunInputStore store, IModelContexts? contexts = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(store);
        var datasets = new Dictionary<string, DatasetInput>(StringComparer.Ordinal);
        foreach (var (index, dataset) in config.Datasets.Index())
        {
            if (dataset.Upload is { } id)
            {
                datasets[dataset.Name] = await store.HasDatasetAsync(id, cancellationToken).ConfigureAwait(false)
                    ? new DatasetInput(id, null, null, async () => await store.GetDatasetAsync(id, cancellationToken).ConfigureAwait(false) ?? throw NotUploaded(config, $"datasets[{index}].upload", "dataset", id))
                    : throw NotUploaded(config, $"datasets[{index}].upload", "dataset", id);
            }
            else
            {
                var generated = dataset.Generate is { } generate ? SlackGenerator.Generate(generate) : null;
                var records = generated is null ? DatasetReader.Read(dataset.Path!) : Dataset.Create(dataset.Name, generated.Messages);
                datasets[dataset.Name] = new DatasetInput(records.Id, UploadContent.Dataset(records), generated, () => Task.FromResult(records.Records));
            }
        }

        var suites = new List<SuiteRef>();
        var suiteUploads = new List<Upload>();
        var prompts = new List<PromptFit.SuitePrompts>();
        foreach (var (index, suite) in config.Suites.Index())
        {
            var dataset = datasets[suite.Dataset];
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
                cases = suite.Path is { } path ? SuiteFile.Read(path, (await dataset.RecordsAsync().ConfigureAwait(false)).Count).Cases
                    : suite.Generated ? dataset.Generated!.Suite.Cases
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

            // The cases the run uses: the limit's first ones, each given its records by retrieval unless it lists them.
            IReadOnlyList<TestCase> used = config.Limit is { } limit && limit < cases.Count ? [.. cases.Take(limit)] : cases;
            if (suite.Retrieve is { } retrieve && used.Any(c => c.Records is null))
            {
                using var retriever = new Bm25Retriever(await dataset.RecordsAsync().ConfigureAwait(false));
                used = [.. used.Select(c => c.Records is null ? c with { Records = retriever.Retrieve(c.Question, retrieve.K) } : c)];
            }

            var retrieved = used.Any(c => c.Records is not null);
            var records = retrieved ? await dataset.RecordsAsync().ConfigureAwait(false) : null;
            if (records is not null && used.FirstOrDefault(c => c.Records!.Any(n => n > records.Count)) is { } beyond)
            {
                throw new EvalMeshInputException($"case '{beyond.Id}' names record {beyond.Records!.Max()}, but dataset '{suite.Dataset}' has {records.Count} records", suite.Path ?? config.File, setting: $"suites[{index}]");
            }

            // An upload the run uses as it is stays the one stored; other cases are stored apart.
            var upload = stored is not null && ReferenceEquals(used, cases) ? stored : UploadContent.Suite(suite.Name, used);
            suiteUploads.Add(upload);
            var context = suite.Retrieve?.ToString() ?? (retrieved ? "records listed per case" : null);
            suites.Add(new SuiteRef(suite.Name, upload.Id, dataset.Id, used.Count, context, records is null ? null : ContextRecall.Of(records, used)?.Recall));
            if (contexts is not null)
            {
                prompts.Add(new PromptFit.SuitePrompts(suite.Name, used, await dataset.RecordsAsync().ConfigureAwait(false)));
            }
        }

        if (contexts is not null)
        {
            PromptFit.Check(config, prompts, contexts);
        }

        var datasetUploads = datasets.Values
            .Where(d => d.Upload is not null)
            .Select(d => d.Upload!)
            .DistinctBy(u => u.Id)
            .ToList();
        var spec = new RunSpec(config.Description, suites, config.Formats, config.Tokenizers, config.Endpoints, config.Adapters, config.Judge, config.Prompt, config.Repeats, config.Concurrency, DefaultShardSize, config.Schedule, config.Limit, config.Recommend, config.System);
        return new PreparedRun(spec, datasetUploads, [.. suiteUploads.DistinctBy(u => u.Id)]);
    }

    private static EvalMeshInputException NotUploaded(EvalConfig config, string key, string what, string id) =>
        new($"no {what} has been uploaded as {id}: upload it first (PUT /api/{what}s/{id}); evalmesh run --server and the HTTP SDK upload what a config names", config.File, setting: key);

    /// <summary>A config's dataset: its content id, its upload when this machine has its records, and the records, read once when asked for.</summary>
    private sealed class DatasetInput(string id, Upload? upload, SlackDataset? generated, Func<Task<IReadOnlyList<JsonObject>>> load)
    {
        private Task<IReadOnlyList<JsonObject>>? _records;

        public string Id => id;

        public Upload? Upload => upload;

        public SlackDataset? Generated => generated;

        public Task<IReadOnlyList<JsonObject>> RecordsAsync() => _records ??= load();
    }
}
