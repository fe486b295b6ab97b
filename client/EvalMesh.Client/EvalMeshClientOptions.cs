namespace EvalMesh.Client;

/// <summary>How the client reaches the cluster (configuration section <c>EvalMesh:Client</c>).</summary>
public sealed class EvalMeshClientOptions
{
    /// <summary><c>local</c>: a silo on this machine's loopback; <c>redis</c>: a cluster found through Redis.</summary>
    public string Cluster { get; set; } = "local";

    /// <summary>With <c>redis</c>: the Redis configuration string, such as <c>127.0.0.1:6379</c>.</summary>
    public string? Redis { get; set; }

    /// <summary>The cluster id the silos use.</summary>
    public string ClusterId { get; set; } = "evalmesh";

    /// <summary>The service id the silos use.</summary>
    public string ServiceId { get; set; } = "evalmesh";

    /// <summary>With <c>local</c>: the silo's gateway port.</summary>
    public int GatewayPort { get; set; } = 30000;

    /// <summary>How long connecting keeps trying before it fails.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>The cluster's certificate (PKCS#12), when the silos require mutual TLS.</summary>
    public string? TlsCertificate { get; set; }

    /// <summary>The password of <see cref="TlsCertificate"/>.</summary>
    public string? TlsCertificatePassword { get; set; }
}
