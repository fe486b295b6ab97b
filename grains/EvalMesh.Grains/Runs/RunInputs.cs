using System.Collections.Concurrent;
using System.Text.Json;
using EvalMesh.Abstractions;
using EvalMesh.Evaluation.Configuration;
using EvalMesh.Evaluation.Suites;

namespace EvalMesh.Grains.Runs;

/// <summary>
/// This silo's cache of what shards read: rendered contexts per dataset and format, and suites' cases. Both are
/// content-addressed, so a cached copy is never stale.
/// </summary>
public sealed class RunInputs(IGrainFactory grains)
{
    /// <summary>How test cases travel as JSON.</summary>
    public static readonly JsonSerializerOptions CaseJson = new(JsonSerializerDefaults.Web);

    private readonly ConcurrentDictionary<(string Dataset, string Format, string Records), Lazy<Task<string>>> _contexts = new();
    private readonly ConcurrentDictionary<string, Lazy<Task<IReadOnlyList<TestCase>>>> _cases = new(StringComparer.Ordinal);

    /// <summary>
    /// The run's prompt template with a format filled in, and the whole dataset rendered in it as the context every
    /// question shares; or, for a suite whose questions have their own records, no context (see <see cref="ContextAsync"/>).
    /// </summary>
    public async Task<PromptTemplate> TemplateAsync(string prompt, string datasetId, string format, bool perQuestion) =>
        PromptTemplate.Compile(prompt, format, perQuestion ? null : await ContextAsync(datasetId, format, null).ConfigureAwait(false));

    /// <summary>The records of a dataset (1-based numbers; null for all of them) rendered in a format, in dataset order.</summary>
    public Task<string> ContextAsync(string datasetId, string format, IReadOnlyList<int>? records) =>
        _contexts.GetOrAdd((datasetId, format, records is null ? string.Empty : string.Join(',', records)), key => new Lazy<Task<string>>(() =>
            records is null ? grains.GetGrain<IDatasetGrain>(key.Dataset).RenderAsync(key.Format) : grains.GetGrain<IDatasetGrain>(key.Dataset).RenderAsync(key.Format, records))).Value;

    /// <summary>A suite's cases.</summary>
    public Task<IReadOnlyList<TestCase>> CasesAsync(string suiteId) =>
        _cases.GetOrAdd(suiteId, id => new Lazy<Task<IReadOnlyList<TestCase>>>(async () =>
            JsonSerializer.Deserialize<List<TestCase>>(await grains.GetGrain<ITestSuiteGrain>(id).GetCasesJsonAsync(), CaseJson)!)).Value;
}
