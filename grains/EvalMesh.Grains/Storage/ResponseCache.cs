using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Caching.Distributed;
using StackExchange.Redis;

namespace EvalMesh.Grains.Storage;

/// <summary>How long a cached endpoint answer is kept (as promptfoo's cache does): two weeks from when it was written.</summary>
public static class ResponseCache
{
    /// <summary>The lifetime of a cached answer.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromDays(14);
}

/// <summary>
/// The embedded silo's cache of endpoint answers: one file per key under <c>cache/responses/</c>, holding its expiry
/// and the answer; an expired one is deleted when it is next asked for. Writes go to a temporary file first, so that a
/// reader never sees half an answer.
/// </summary>
public sealed class FileResponseCache(string root, TimeProvider time) : IDistributedCache
{
    private readonly string _folder = Path.Combine(root, "cache", "responses");

    /// <inheritdoc />
    public byte[]? Get(string key)
    {
        var path = PathOf(key);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }

        if (bytes.Length >= 8 && BinaryPrimitives.ReadInt64LittleEndian(bytes) > time.GetUtcNow().UtcTicks)
        {
            return bytes[8..];
        }

        File.Delete(path);
        return null;
    }

    /// <inheritdoc />
    public Task<byte[]?> GetAsync(string key, CancellationToken token = default) => Task.FromResult(Get(key));

    /// <inheritdoc />
    public void Set(string key, byte[] value, DistributedCacheEntryOptions options)
    {
        ArgumentNullException.ThrowIfNull(value);
        var bytes = new byte[8 + value.Length];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, (time.GetUtcNow() + ResponseCache.Lifetime).UtcTicks);
        value.CopyTo(bytes, 8);
        Directory.CreateDirectory(_folder);
        var path = PathOf(key);
        var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        File.WriteAllBytes(temporary, bytes);
        File.Move(temporary, path, overwrite: true);
    }

    /// <inheritdoc />
    public Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions options, CancellationToken token = default)
    {
        Set(key, value, options);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public void Refresh(string key)
    {
    }

    /// <inheritdoc />
    public Task RefreshAsync(string key, CancellationToken token = default) => Task.CompletedTask;

    /// <inheritdoc />
    public void Remove(string key) => File.Delete(PathOf(key));

    /// <inheritdoc />
    public Task RemoveAsync(string key, CancellationToken token = default)
    {
        Remove(key);
        return Task.CompletedTask;
    }

    // Keys are hashed again, so that any key makes a safe, short file name.
    private string PathOf(string key) => Path.Combine(_folder, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key))));
}

/// <summary>The cluster's cache of endpoint answers: one Redis string per key (<c>{service}/responses/{key}</c>) that expires on its own.</summary>
public sealed class RedisResponseCache(IConnectionMultiplexer redis, string serviceId) : IDistributedCache
{
    /// <inheritdoc />
    public byte[]? Get(string key) => redis.GetDatabase().StringGet(Key(key));

    /// <inheritdoc />
    public async Task<byte[]?> GetAsync(string key, CancellationToken token = default) =>
        await redis.GetDatabase().StringGetAsync(Key(key)).WaitAsync(token).ConfigureAwait(false);

    /// <inheritdoc />
    public void Set(string key, byte[] value, DistributedCacheEntryOptions options) => redis.GetDatabase().StringSet(Key(key), value, ResponseCache.Lifetime);

    /// <inheritdoc />
    public Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions options, CancellationToken token = default) =>
        redis.GetDatabase().StringSetAsync(Key(key), value, ResponseCache.Lifetime).WaitAsync(token);

    /// <inheritdoc />
    public void Refresh(string key)
    {
    }

    /// <inheritdoc />
    public Task RefreshAsync(string key, CancellationToken token = default) => Task.CompletedTask;

    /// <inheritdoc />
    public void Remove(string key) => redis.GetDatabase().KeyDelete(Key(key));

    /// <inheritdoc />
    public Task RemoveAsync(string key, CancellationToken token = default) => redis.GetDatabase().KeyDeleteAsync(Key(key)).WaitAsync(token);

    private RedisKey Key(string key) => $"{serviceId}/responses/{key}";
}
