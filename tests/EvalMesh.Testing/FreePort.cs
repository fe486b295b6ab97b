using System.Net;
using System.Net.Sockets;

namespace EvalMesh.Testing;

/// <summary>Free loopback TCP ports, for servers a test starts.</summary>
public static class FreePort
{
    /// <summary>A port nothing listens on right now.</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
