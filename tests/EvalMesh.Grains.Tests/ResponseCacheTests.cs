using EvalMesh.Grains.Storage;
using EvalMesh.Testing;
using StackExchange.Redis;

namespace EvalMesh.Grains.Tests;

/// <summary>The stores behind the endpoint answer cache: a file per answer on the embedded silo, a Redis string in a cluster.</summary>
public sealed class ResponseCacheTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RedisCache_KeepsAnAnswerForTwoWeeks_ApartPerService()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Address);
        var cache = new RedisResponseCache(connection, "service-a");
        Assert.Null(await cache.GetAsync("key", Token));

        await cache.SetAsync("key", [1, 2, 3], new(), Token);
        Assert.Equal([1, 2, 3], await cache.GetAsync("key", Token));
        Assert.Null(await new RedisResponseCache(connection, "service-b").GetAsync("key", Token));
        Assert.InRange((await connection.GetDatabase().KeyTimeToLiveAsync("service-a/responses/key"))!.Value, TimeSpan.FromDays(13.9), ResponseCache.Lifetime);

        await cache.RemoveAsync("key", Token);
        Assert.Null(await cache.GetAsync("key", Token));
    }

    [Fact]
    public async Task FileCache_KeepsAnAnswerAcrossInstances_UntilTwoWeeksHavePassed_ThenDeletesIt()
    {
        var folder = Directory.CreateTempSubdirectory("evalmesh-response-cache-").FullName;
        try
        {
            var clock = new Clock { Now = DateTimeOffset.UnixEpoch.AddYears(56) };
            await new FileResponseCache(folder, clock).SetAsync("any key: /, *, ..", [4, 5], new(), Token);
            var later = new FileResponseCache(folder, clock);
            Assert.Equal([4, 5], await later.GetAsync("any key: /, *, ..", Token));
            Assert.Null(await later.GetAsync("another key", Token));

            clock.Now += ResponseCache.Lifetime - TimeSpan.FromMinutes(1);
            Assert.NotNull(await later.GetAsync("any key: /, *, ..", Token));
            clock.Now += TimeSpan.FromMinutes(2);
            Assert.Null(await later.GetAsync("any key: /, *, ..", Token));
            Assert.Empty(Directory.GetFiles(Path.Combine(folder, "cache", "responses")));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private sealed class Clock : TimeProvider
    {
        public DateTimeOffset Now { get; set; }

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
