using System.Collections.Concurrent;

namespace EvalMesh.Grains.Routing;

/// <summary>
/// This silo's map between adapter keys (<c>model|adapter</c>, as callers name them) and the files the model host
/// knows them by, and the adapter hosts active here; the residency reporter needs both.
/// </summary>
public sealed class AdapterKeys
{
    private readonly ConcurrentDictionary<(string Model, string? Adapter), string> _keys = new();
    private readonly ConcurrentDictionary<string, (string Model, string? Adapter)> _files = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _hosts = new(StringComparer.Ordinal);

    /// <summary>The adapter hosts active on this silo.</summary>
    public IReadOnlyList<string> ActiveHosts => [.. _hosts.Keys.Order(StringComparer.Ordinal)];

    /// <summary>Records which files an adapter key resolved to.</summary>
    public void Register(string adapterKey, string model, string? adapter)
    {
        _keys[(model, adapter)] = adapterKey;
        _files[adapterKey] = (model, adapter);
    }

    /// <summary>The adapter key of a model and adapter file, if a host here resolved it.</summary>
    public string? KeyOf(string model, string? adapter) => _keys.GetValueOrDefault((model, adapter));

    /// <summary>The files of an adapter key, if a host here resolved it.</summary>
    public (string Model, string? Adapter)? FilesOf(string adapterKey) => _files.TryGetValue(adapterKey, out var files) ? files : null;

    internal void HostActivated(string hostKey) => _hosts.AddOrUpdate(hostKey, 1, (_, n) => n + 1);

    internal void HostDeactivated(string hostKey)
    {
        if (_hosts.AddOrUpdate(hostKey, 0, (_, n) => n - 1) <= 0)
        {
            _hosts.TryRemove(hostKey, out _);
        }
    }
}
