using EvalMesh.Abstractions;
using StackExchange.Redis;

namespace EvalMesh.Grains.Storage;

/// <summary>
/// The cluster result store: one Redis hash per shard (<c>{service}/results/{run}/{shard}</c>), field = cell id,
/// value = the MessagePack result. A batch is one HSET; writing a cell again replaces it, so results are idempotent.
/// </summary>
public sealed class RedisResultStore(IConnectionMultiplexer redis, string serviceId) : IResultStore
{
    /// <inheritdoc />
    public async Task WriteAsync(string runId, int shardNo, IReadOnlyList<CellResult> batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0)
        {
            return;
        }

        var entries = batch.Select(r => new HashEntry(r.CellId, CellResultSerializer.Serialize(CellResultSerializer.Trim(r)))).ToArray();
        await redis.GetDatabase().HashSetAsync(Key(runId, shardNo), entries).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<CellResult> ReadShardAsync(string runId, int shardNo, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var entry in redis.GetDatabase().HashScanAsync(Key(runId, shardNo), pageSize: 500).WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            yield return CellResultSerializer.Deserialize((byte[])entry.Value!);
        }
    }

    private RedisKey Key(string runId, int shardNo) => $"{serviceId}/results/{runId}/{shardNo}";
}
