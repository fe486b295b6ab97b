using EvalMesh.Abstractions;

namespace EvalMesh.Grains.Storage;

/// <summary>
/// Where cell results go: written in MessagePack batches per shard, one result per cell id (a later write of the same
/// cell replaces it), read back as a stream. Results never gather in a grain's memory.
/// </summary>
public interface IResultStore
{
    /// <summary>Writes a batch of a shard's results.</summary>
    Task WriteAsync(string runId, int shardNo, IReadOnlyList<CellResult> batch, CancellationToken cancellationToken = default);

    /// <summary>A shard's results, one per cell.</summary>
    IAsyncEnumerable<CellResult> ReadShardAsync(string runId, int shardNo, CancellationToken cancellationToken = default);

    /// <summary>A run's results, shard by shard, one per cell.</summary>
    async IAsyncEnumerable<CellResult> ReadAsync(string runId, int shardCount, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        for (var shard = 0; shard < shardCount; shard++)
        {
            await foreach (var result in ReadShardAsync(runId, shard, cancellationToken).ConfigureAwait(false))
            {
                yield return result;
            }
        }
    }
}
