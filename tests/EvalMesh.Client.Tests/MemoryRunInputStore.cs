using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using EvalMesh.Evaluation.Datasets;

namespace EvalMesh.Client.Tests;

/// <summary>An <see cref="IRunInputStore"/> in memory, counting what was put.</summary>
internal sealed class MemoryRunInputStore : IRunInputStore
{
    private readonly ConcurrentDictionary<string, Upload> _datasets = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Upload> _suites = new(StringComparer.Ordinal);

    public int Puts { get; private set; }

    public Task<bool> HasDatasetAsync(string id, CancellationToken cancellationToken = default) => Task.FromResult(_datasets.ContainsKey(id));

    public Task PutDatasetAsync(Upload dataset, CancellationToken cancellationToken = default)
    {
        Puts++;
        _datasets[dataset.Id] = dataset;
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<JsonObject>?> GetDatasetAsync(string id, CancellationToken cancellationToken = default) =>
        Task.FromResult(_datasets.TryGetValue(id, out var dataset) ? DatasetReader.ParseJsonLines(dataset.Content, id) : null);

    public Task<bool> HasSuiteAsync(string id, CancellationToken cancellationToken = default) => Task.FromResult(_suites.ContainsKey(id));

    public Task PutSuiteAsync(Upload suite, CancellationToken cancellationToken = default)
    {
        Puts++;
        _suites[suite.Id] = suite;
        return Task.CompletedTask;
    }

    public Task<string?> GetSuiteAsync(string id, CancellationToken cancellationToken = default) =>
        Task.FromResult(_suites.TryGetValue(id, out var suite) ? suite.Content : null);
}
