using System.Text.Json.Nodes;

namespace EvalMesh.Client;

/// <summary>
/// Where a cluster keeps the datasets and suites runs read, content-addressed: reached through its grains (inside the
/// cluster) or through a silo's REST API (<c>/api/datasets/{id}</c>, <c>/api/suites/{id}</c>). Both SDK flavours
/// prepare a run the same way over it (<see cref="RunSpecBuilder.PrepareAsync"/>, <see cref="PreparedRun.UploadMissingAsync"/>).
/// </summary>
public interface IRunInputStore
{
    /// <summary>Whether the dataset with this content id is stored.</summary>
    Task<bool> HasDatasetAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Stores a dataset (<see cref="UploadContent.Dataset"/>) unless it is stored already.</summary>
    Task PutDatasetAsync(Upload dataset, CancellationToken cancellationToken = default);

    /// <summary>A stored dataset's records, or null when there is none with this content id.</summary>
    Task<IReadOnlyList<JsonObject>?> GetDatasetAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Whether the suite with this content id is stored.</summary>
    Task<bool> HasSuiteAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Stores a suite (<see cref="UploadContent.Suite"/>) unless it is stored already.</summary>
    Task PutSuiteAsync(Upload suite, CancellationToken cancellationToken = default);

    /// <summary>A stored suite's cases as JSON, or null when there is none with this content id.</summary>
    Task<string?> GetSuiteAsync(string id, CancellationToken cancellationToken = default);
}
