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
}
