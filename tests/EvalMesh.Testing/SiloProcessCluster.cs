namespace EvalMesh.Testing;

/// <summary>
/// The system as deployed: a real redis-server and silo processes clustered through it, sharing a temporary folder
/// (their model cache is in it) that is deleted with them.
/// </summary>
public sealed class SiloProcessCluster : IAsyncDisposable
{
    private Dictionary<string, string> _environment = [];

    /// <summary>A cluster named <paramref name="name"/> (its folder and cluster id start with it), not started yet.</summary>
    public SiloProcessCluster(string name)
    {
        Folder = Directory.CreateTempSubdirectory($"evalmesh-{name}-").FullName;
        ClusterId = $"{name}-{Guid.NewGuid().ToString("N")[..8]}";
    }

    /// <summary>The cluster's folder: the silos' model cache, and what tests write for them.</summary>
    public string Folder { get; }

    /// <summary>The cluster id, which is its service id too.</summary>
    public string ClusterId { get; }

    /// <summary>The redis-server the cluster forms through.</summary>
    public RedisServer Redis { get; private set; } = null!;

    /// <summary>The silos started and not yet stopped by a test (a test that stops one removes it).</summary>
    public List<SiloProcess> Silos { get; } = [];

    /// <summary>What the CLI needs to reach the cluster as an Orleans client.</summary>
    public string[] CliArguments => ["--cluster", "redis", "--redis", Redis.Address, "--cluster-id", ClusterId, "--service-id", ClusterId];

    /// <summary>Starts redis-server and <paramref name="silos"/> silos, each with <paramref name="environment"/> added to its own.</summary>
    public async Task StartAsync(int silos, IReadOnlyDictionary<string, string>? environment = null)
    {
        Redis = await RedisServer.StartAsync();
        _environment = new Dictionary<string, string>(environment ?? new Dictionary<string, string>()) { ["EVALMESH_CACHE"] = Path.Combine(Folder, "cache") };
        Silos.AddRange(await Task.WhenAll(Enumerable.Range(0, silos).Select(_ => StartSiloAsync())));
    }

    /// <summary>Starts one more silo like the others; the caller adds it to <see cref="Silos"/> when it should be stopped with them.</summary>
    public Task<SiloProcess> StartSiloAsync() => SiloProcess.StartClusteredAsync(Redis.Address, ClusterId, _environment);

    public async ValueTask DisposeAsync()
    {
        foreach (var silo in Silos)
        {
            await silo.DisposeAsync();
        }

        if (Redis is not null)
        {
            await Redis.DisposeAsync();
        }

        Directory.Delete(Folder, recursive: true);
    }
}
