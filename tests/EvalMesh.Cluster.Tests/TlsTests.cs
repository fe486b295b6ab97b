using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using EvalMesh.Testing;

namespace EvalMesh.Cluster.Tests;

/// <summary>
/// Mutual TLS switched on by configuration: two silo processes clustered through a real redis-server, both with one
/// self-signed certificate, form a cluster; the CLI gets in with that certificate and is refused without it or with
/// another one.
/// </summary>
public sealed partial class TlsTests : IAsyncLifetime
{
    private const string Password = "tls-test-password";
    private readonly string _folder = Directory.CreateTempSubdirectory("evalmesh-tls-").FullName;
    private readonly string _clusterId = "tls-" + Guid.NewGuid().ToString("N")[..8];
    private readonly List<SiloProcess> _silos = [];
    private RedisServer _redis = null!;

    private string Certificate => Path.Combine(_folder, "cluster.pfx");

    public async ValueTask InitializeAsync()
    {
        WriteSelfSigned(Certificate, "evalmesh-cluster");
        WriteSelfSigned(Path.Combine(_folder, "stranger.pfx"), "evalmesh-cluster");
        _redis = await RedisServer.StartAsync();
        var environment = new Dictionary<string, string>
        {
            ["EVALMESH_CACHE"] = Path.Combine(_folder, "cache"),
            ["EvalMesh__TlsCertificate"] = Certificate,
            ["EvalMesh__TlsCertificatePassword"] = Password,
        };
        _silos.AddRange(await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => SiloProcess.StartClusteredAsync(_redis.Address, _clusterId, environment))));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var silo in _silos)
        {
            await silo.DisposeAsync();
        }

        await _redis.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task SilosWithTheCertificate_FormOneCluster_AClientNeedsTheSameCertificate()
    {
        // Both silos see a ring of two: they talk to each other over TLS.
        await Poll.UntilAsync(
            async () => (await Task.WhenAll(_silos.Select(RingSizeAsync))).All(size => size == 2),
            TimeSpan.FromSeconds(60),
            "both silos to see each other");

        var with = await Cli(Certificate);
        Assert.True(with.ExitCode == 0, $"exit {with.ExitCode}: {with.Stderr}");
        Assert.Equal("[]", with.Stdout.Trim());

        foreach (var refused in new[] { await Cli(null), await Cli(Path.Combine(_folder, "stranger.pfx")) })
        {
            Assert.Equal(3, refused.ExitCode);
            Assert.StartsWith("evalmesh: error: the cluster is unavailable", refused.Stderr, StringComparison.Ordinal);
        }
    }

    private Task<ProgramResult> Cli(string? certificate) => CliRunner.RunAsync(
        _folder,
        new Dictionary<string, string> { ["EVALMESH_TLS_PASSWORD"] = Password },
        ["runs", "--json", "--cluster", "redis", "--redis", _redis.Address, "--cluster-id", _clusterId, "--service-id", _clusterId, .. certificate is null ? Array.Empty<string>() : ["--tls-certificate", certificate]]);

    private static async Task<int> RingSizeAsync(SiloProcess silo)
    {
        var match = RingSize().Match(await silo.Http.GetStringAsync("/metrics", TestContext.Current.CancellationToken));
        return match.Success ? int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }

    private static void WriteSelfSigned(string path, string name)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pfx, Password));
    }

    [GeneratedRegex(@"\nmicrosoft_orleans_orleans_consistent_ring_size (\d+)")]
    private static partial Regex RingSize();
}
