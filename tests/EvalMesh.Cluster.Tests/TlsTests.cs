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
    private readonly SiloProcessCluster _cluster = new("tls");

    private string Certificate => Path.Combine(_cluster.Folder, "cluster.pfx");

    public async ValueTask InitializeAsync()
    {
        WriteSelfSigned(Certificate, "evalmesh-cluster");
        WriteSelfSigned(Path.Combine(_cluster.Folder, "stranger.pfx"), "evalmesh-cluster");
        await _cluster.StartAsync(silos: 2, new Dictionary<string, string>
        {
            ["EvalMesh__TlsCertificate"] = Certificate,
            ["EvalMesh__TlsCertificatePassword"] = Password,
        });
    }

    public ValueTask DisposeAsync() => _cluster.DisposeAsync();

    [Fact]
    public async Task SilosWithTheCertificate_FormOneCluster_AClientNeedsTheSameCertificate()
    {
        // Both silos see a ring of two: they talk to each other over TLS.
        await Poll.UntilAsync(
            async () => (await Task.WhenAll(_cluster.Silos.Select(RingSizeAsync))).All(size => size == 2),
            TimeSpan.FromSeconds(60),
            "both silos to see each other");

        var with = await Cli(Certificate);
        Assert.True(with.ExitCode == 0, $"exit {with.ExitCode}: {with.Stderr}");
        Assert.Equal("[]", with.Stdout.Trim());

        // Each refused client keeps trying for the client's connect timeout (20 s) before it gives up: both at once.
        foreach (var refused in await Task.WhenAll(Cli(null), Cli(Path.Combine(_cluster.Folder, "stranger.pfx"))))
        {
            Assert.Equal(3, refused.ExitCode);
            Assert.StartsWith("evalmesh: error: the cluster is unavailable", refused.Stderr, StringComparison.Ordinal);
        }
    }

    private Task<ProgramResult> Cli(string? certificate) => CliRunner.RunAsync(
        _cluster.Folder,
        new Dictionary<string, string> { ["EVALMESH_TLS_PASSWORD"] = Password },
        ["runs", "--json", .. _cluster.CliArguments, .. certificate is null ? Array.Empty<string>() : ["--tls-certificate", certificate]]);

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
