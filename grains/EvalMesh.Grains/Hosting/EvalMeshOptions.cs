using EvalMesh.Client;
using Microsoft.Extensions.Options;

namespace EvalMesh.Grains.Hosting;

/// <summary>How a silo joins (or forms) a cluster and where it keeps things (configuration section <c>EvalMesh</c>).</summary>
public sealed class EvalMeshOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "EvalMesh";

    /// <summary><c>local</c>: a single silo, localhost clustering, files under <see cref="DataDirectory"/>; <c>redis</c>: a cluster.</summary>
    public string Cluster { get; set; } = "local";

    /// <summary>With <c>redis</c>: the Redis configuration string, such as <c>127.0.0.1:6379</c>.</summary>
    public string? Redis { get; set; }

    /// <summary>The Orleans cluster id; silos and clients of one cluster share it.</summary>
    public string ClusterId { get; set; } = "evalmesh";

    /// <summary>The Orleans service id; it prefixes keys in Redis.</summary>
    public string ServiceId { get; set; } = "evalmesh";

    /// <summary>The silo-to-silo port.</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>The port clients connect to.</summary>
    public int GatewayPort { get; set; } = 30000;

    /// <summary>The address other silos reach this one at (default: loopback for local, the host's first address for redis).</summary>
    public string? AdvertisedAddress { get; set; }

    /// <summary>With <c>local</c>: where runs, results and grain state are kept.</summary>
    public string DataDirectory { get; set; } = DefaultDataDirectory;

    /// <summary>Where the generated tiny model is cached (default: <c>$EVALMESH_CACHE</c> or the user's cache folder).</summary>
    public string? ModelCache { get; set; }

    /// <summary>
    /// Folders that model and adapter files named by callers (run configs, adapter registrations) must lie in, symbolic
    /// links followed. Empty allows any file, as on one user's machine; the built-in tiny model is always allowed.
    /// </summary>
    public List<string> ModelRoots { get; set; } = [];

    /// <summary>
    /// How long a run waits while its shards keep failing without progress (a result store that cannot be reached, for
    /// example) before it fails with their error; a shorter outage only pauses it.
    /// </summary>
    public TimeSpan StallDeadline { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long an ordinary grain call may take before it fails (Orleans' response timeout). Local inference is a
    /// streamed call that Orleans long-polls, so a generation is not bound by it, however long it takes.
    /// </summary>
    public TimeSpan ResponseTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The most cells one run may have.</summary>
    public int MaxCellsPerRun { get; set; } = 10_000_000;

    /// <summary>
    /// A PKCS#12 file with the cluster's certificate: when set, silo-to-silo and client-to-silo connections use mutual
    /// TLS, and only parties that present this certificate get in (see <see cref="Abstractions.ClusterTls"/>).
    /// </summary>
    public string? TlsCertificate { get; set; }

    /// <summary>The password of <see cref="TlsCertificate"/>, best set through the environment.</summary>
    public string? TlsCertificatePassword { get; set; }

    /// <summary>Named base models this silo serves through the gateway: name → GGUF path.</summary>
    public Dictionary<string, string> Models { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// A silo that only reads: it resumes no run on activation. The CLI's inspection verbs (runs, status, report) use it
    /// in embedded mode, so that looking at a run never restarts it in a second process.
    /// </summary>
    public bool Passive { get; set; }

    /// <summary>Whether this is the embedded single-silo mode.</summary>
    public bool IsLocal => !string.Equals(Cluster, "redis", StringComparison.OrdinalIgnoreCase);

    /// <summary><c>$EVALMESH_HOME</c>, else <c>evalmesh</c> under the user's data folder.</summary>
    public static string DefaultDataDirectory =>
        Environment.GetEnvironmentVariable("EVALMESH_HOME") is { Length: > 0 } home
            ? home
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify), "evalmesh");
}

/// <summary>Checks <see cref="EvalMeshOptions"/>, naming the setting and the environment variable that sets it.</summary>
public sealed class EvalMeshOptionsValidator : IValidateOptions<EvalMeshOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, EvalMeshOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.Cluster is not ("local" or "redis"))
        {
            failures.Add($"EvalMesh:Cluster must be 'local' or 'redis', not '{options.Cluster}' (environment variable EvalMesh__Cluster, option --cluster)");
        }

        if (!options.IsLocal && string.IsNullOrWhiteSpace(options.Redis))
        {
            failures.Add("EvalMesh:Redis is required with the redis cluster (environment variable EvalMesh__Redis, option --redis HOST:PORT)");
        }

        foreach (var (setting, port) in new[] { ("SiloPort", options.SiloPort), ("GatewayPort", options.GatewayPort) })
        {
            if (port is < 0 or > 65535)
            {
                failures.Add($"EvalMesh:{setting} must be a port number, not {port} (environment variable EvalMesh__{setting})");
            }
        }

        if (options.TlsCertificate is { } certificate && !File.Exists(certificate))
        {
            failures.Add($"EvalMesh:TlsCertificate: no such file '{certificate}' (environment variable EvalMesh__TlsCertificate)");
        }

        if (options.StallDeadline <= TimeSpan.Zero)
        {
            failures.Add($"EvalMesh:StallDeadline must be positive, such as 00:05:00, not {options.StallDeadline} (environment variable EvalMesh__StallDeadline)");
        }

        if (options.ResponseTimeout <= TimeSpan.Zero)
        {
            failures.Add($"EvalMesh:ResponseTimeout must be positive, such as 00:00:30, not {options.ResponseTimeout} (environment variable EvalMesh__ResponseTimeout)");
        }

        if (options.MaxCellsPerRun < 1)
        {
            failures.Add($"EvalMesh:MaxCellsPerRun must be positive, not {options.MaxCellsPerRun} (environment variable EvalMesh__MaxCellsPerRun)");
        }

        if (options.ModelRoots.FindIndex(string.IsNullOrWhiteSpace) is var blank and >= 0)
        {
            failures.Add($"EvalMesh:ModelRoots:{blank} must be a folder (environment variable EvalMesh__ModelRoots__{blank})");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
