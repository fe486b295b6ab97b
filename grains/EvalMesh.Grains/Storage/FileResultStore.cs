using System.Buffers.Binary;
using System.Collections.Concurrent;
using EvalMesh.Abstractions;

namespace EvalMesh.Grains.Storage;

/// <summary>
/// The embedded result store: one append-only file per shard under <c>runs/{run}/</c>, each record a length-prefixed
/// MessagePack batch. Reading keeps the last result of each cell, so a cell written again replaces the earlier one.
/// </summary>
public sealed class FileResultStore(string root) : IResultStore
{
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public async Task WriteAsync(string runId, int shardNo, IReadOnlyList<CellResult> batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0)
        {
            return;
        }

        var path = ShardFile(runId, shardNo);
        var bytes = CellResultSerializer.Serialize([.. batch.Select(CellResultSerializer.Trim)]);
        var header = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(header, bytes.Length);
        var gate = _locks.GetOrAdd(path, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await using var file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read, 1 << 16, useAsync: true);
            await file.WriteAsync(header, cancellationToken).ConfigureAwait(false);
            await file.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<CellResult> ReadShardAsync(string runId, int shardNo, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var path = ShardFile(runId, shardNo);
        if (!File.Exists(path))
        {
            yield break;
        }

        // Last write wins per cell: collect the newest result of each cell, then hand them out in first-seen order.
        var latest = new Dictionary<string, CellResult>(StringComparer.Ordinal);
        await using (var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16, useAsync: true))
        {
            var header = new byte[4];
            while (await file.ReadAtLeastAsync(header, 4, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false) == 4)
            {
                var length = BinaryPrimitives.ReadInt32LittleEndian(header);
                var bytes = new byte[length];
                if (await file.ReadAtLeastAsync(bytes, length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false) < length)
                {
                    // A batch cut short by a crash while writing: its cells were never reported, so they run again.
                    break;
                }

                foreach (var result in CellResultSerializer.DeserializeBatch(bytes))
                {
                    latest[result.CellId] = result;
                }
            }
        }

        foreach (var result in latest.Values)
        {
            yield return result;
        }
    }

    private string ShardFile(string runId, int shardNo) => Path.Combine(root, "runs", Safe(runId), $"shard-{shardNo:D5}.mpk");

    private static string Safe(string runId) =>
        runId.Length > 0 && runId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') && runId is not ("." or "..")
            ? runId
            : throw new ArgumentException($"'{runId}' is not a valid run id (letters, digits, '-', '_' and '.')", nameof(runId));
}
