using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace EvalMesh.Testing;

/// <summary>Free loopback TCP ports, for servers a test starts.</summary>
public static class FreePort
{
    private static readonly ConcurrentDictionary<int, bool> HandedOut = new();

    /// <summary>A port nothing listens on right now, and that this process has not handed out before.</summary>
    public static int Next()
    {
        while (true)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            if (HandedOut.TryAdd(port, true))
            {
                return port;
            }
        }
    }
}
