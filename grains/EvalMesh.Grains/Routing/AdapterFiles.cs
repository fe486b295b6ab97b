using System.Collections.Concurrent;
using EvalMesh.Abstractions;
using EvalMesh.Inference.Endpoints;
using EvalMesh.Inference.Llama;

namespace EvalMesh.Grains.Routing;

/// <summary>
/// This silo's map between adapter keys (<c>model|adapter</c>, as callers name them) and the files the model host
/// knows them by, and the adapter hosts active here; the residency reporter needs both.
/// </summary>
public sealed class AdapterFiles(ModelCatalog catalog, IGrainFactory grains)
{
    private readonly ConcurrentDictionary<ModelFiles, string> _keys = new();
    private readonly ConcurrentDictionary<string, ModelFiles> _files = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _hosts = new(StringComparer.Ordinal);

    /// <summary>The adapter hosts active on this silo.</summary>
    public IReadOnlyList<string> ActiveHosts => [.. _hosts.Keys.Order(StringComparer.Ordinal)];

    /// <summary>
    /// Resolves an adapter key to files on this silo, and records them: the base model by name or allowed path, the
    /// adapter as registered (<see cref="ILoraAdapterGrain"/>), else as a built-in name or allowed path.
    /// </summary>
    public async Task<ModelFiles> ResolveAsync(string adapterKey)
    {
        var (model, adapter) = AdapterKey.Parse(adapterKey);
        var adapterFile = adapter is null ? null : (await grains.GetLoraAdapter(model, adapter).GetAsync())?.Path ?? catalog.ResolveAdapter(model, adapter);
        var files = new ModelFiles(catalog.ResolveModel(model), adapterFile);
        _keys[files] = adapterKey;
        _files[adapterKey] = files;
        return files;
    }

    /// <summary>The adapter key of a model and adapter, if a host here resolved it.</summary>
    public string? KeyOf(ModelFiles files) => _keys.GetValueOrDefault(files);

    /// <summary>The files of an adapter key, if a host here resolved it.</summary>
    public ModelFiles? FilesOf(string adapterKey) => _files.GetValueOrDefault(adapterKey);

    /// <summary>The files of an adapter key, resolved before or now.</summary>
    public async Task<ModelFiles> FilesOrResolveAsync(string adapterKey) => FilesOf(adapterKey) ?? await ResolveAsync(adapterKey);

    internal void HostActivated(string hostKey) => _hosts.AddOrUpdate(hostKey, 1, (_, n) => n + 1);

    internal void HostDeactivated(string hostKey)
    {
        if (_hosts.AddOrUpdate(hostKey, 0, (_, n) => n - 1) <= 0)
        {
            _hosts.TryRemove(hostKey, out _);
        }
    }
}
