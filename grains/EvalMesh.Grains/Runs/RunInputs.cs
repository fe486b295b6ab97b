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

    private readonly ConcurrentDictionary<(string Dataset, string Format), Lazy<Task<string>>> _contexts = new();
    private readonly ConcurrentDictionary<string, Lazy<Task<IReadOnlyList<TestCase>>>> _cases = new(StringComparer.Ordinal);

    /// <summary>The dataset rendered in a format.</summary>
    private Task<string> ContextAsync(string datasetId, string format) =>
        _contexts.GetOrAdd((datasetId, format), key => new Lazy<Task<string>>(() => grains.GetGrain<IDatasetGrain>(key.Dataset).RenderAsync(key.Format))).Value;

    /// <summary>The run's prompt template with a format and the dataset rendered in it filled in.</summary>
    public async Task<PromptTemplate> TemplateAsync(string prompt, string datasetId, string format) =>
        PromptTemplate.Compile(prompt, format, await ContextAsync(datasetId, format).ConfigureAwait(false));

    /// <summary>A suite's cases.</summary>
    public Task<IReadOnlyList<TestCase>> CasesAsync(string suiteId) =>
        _cases.GetOrAdd(suiteId, id => new Lazy<Task<IReadOnlyList<TestCase>>>(async () =>
            JsonSerializer.Deserialize<List<TestCase>>(await grains.GetGrain<ITestSuiteGrain>(id).GetCasesJsonAsync(), CaseJson)!)).Value;
}
