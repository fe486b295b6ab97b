using System.Text.Json.Nodes;
using EvalMesh.Abstractions;
using EvalMesh.Evaluation.Formats;

namespace EvalMesh.Client;

/// <summary><see cref="IRunInputStore"/> over the cluster's dataset and suite grains (keyed by content id).</summary>
public sealed class GrainRunInputStore(IGrainFactory grains) : IRunInputStore
{
    /// <inheritdoc />
    public Task<bool> HasDatasetAsync(string id, CancellationToken cancellationToken = default) =>
        grains.GetGrain<IDatasetGrain>(id).HasRecordsAsync().WaitAsync(cancellationToken);

    /// <inheritdoc />
    public Task PutDatasetAsync(Upload dataset, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        return grains.GetGrain<IDatasetGrain>(dataset.Id).PutAsync(dataset.Name, dataset.Content).WaitAsync(cancellationToken);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<JsonObject>?> GetDatasetAsync(string id, CancellationToken cancellationToken = default)
    {
        // A dataset's records rendered as one line of JSON are its canonical form, the one its content id hashes.
        var grain = grains.GetGrain<IDatasetGrain>(id);
        return await grain.HasRecordsAsync().WaitAsync(cancellationToken).ConfigureAwait(false)
            ? JsonRecords.ParseArray(await grain.RenderAsync("oneline-json").WaitAsync(cancellationToken).ConfigureAwait(false), $"dataset {id}")
            : null;
    }

    /// <inheritdoc />
    public Task<bool> HasSuiteAsync(string id, CancellationToken cancellationToken = default) =>
        grains.GetGrain<ITestSuiteGrain>(id).HasCasesAsync().WaitAsync(cancellationToken);

    /// <inheritdoc />
    public Task PutSuiteAsync(Upload suite, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(suite);
        return grains.GetGrain<ITestSuiteGrain>(suite.Id).PutAsync(suite.Name, suite.Content).WaitAsync(cancellationToken);
    }

    /// <inheritdoc />
    public async Task<string?> GetSuiteAsync(string id, CancellationToken cancellationToken = default)
    {
        var grain = grains.GetGrain<ITestSuiteGrain>(id);
        return await grain.HasCasesAsync().WaitAsync(cancellationToken).ConfigureAwait(false)
            ? await grain.GetCasesJsonAsync().WaitAsync(cancellationToken).ConfigureAwait(false)
            : null;
    }
}
