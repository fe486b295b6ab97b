using EvalMesh.Contracts;
using EvalMesh.Evaluation;
using EvalMesh.Evaluation.Configuration;
using EvalMesh.Inference.Tiny;

namespace EvalMesh.Inference.Endpoints;

/// <summary>
/// Resolves model and adapter names to GGUF files: the built-in models (<see cref="BuiltInModels"/>) with
/// <c>adapter-1</c> and <c>adapter-2</c> (written on first use into the cache folder), names registered at run time,
/// and plain paths.
/// Plain paths must lie under one of <paramref name="roots"/> when any are given, symbolic links followed.
/// </summary>
public sealed class ModelCatalog(string? tinyCacheFolder = null, IReadOnlyList<string>? roots = null)
{
    private readonly string[] _roots = [.. (roots ?? []).Select(r => RealPath(r))];
    private readonly Dictionary<string, string> _models = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Model, string Adapter), string> _adapters = [];
    private readonly Lock _gate = new();

    /// <summary>Registers a base model under a name.</summary>
    /// <exception cref="EvalMeshInputException">The file is outside the allowed folders.</exception>
    public void RegisterModel(string name, string path)
    {
        var allowed = Allowed(path);
        lock (_gate)
        {
            _models[name] = allowed;
        }
    }

    /// <summary>Registers an adapter under a name, for a base model name.</summary>
    /// <exception cref="EvalMeshInputException">The file is outside the allowed folders.</exception>
    public void RegisterAdapter(string model, string name, string path)
    {
        var allowed = Allowed(path);
        lock (_gate)
        {
            _adapters[(model, name)] = allowed;
        }
    }

    /// <summary>
    /// The file a caller named, with symbolic links resolved, when it lies under an allowed folder (or no folders are
    /// configured: then its full path); otherwise an error that names the setting.
    /// </summary>
    /// <exception cref="EvalMeshInputException">The file is outside the allowed folders.</exception>
    public string Allowed(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (_roots.Length == 0)
        {
            return Path.GetFullPath(path);
        }

        var real = RealPath(path);
        return _roots.Any(root => real.StartsWith(root.EndsWith(Path.DirectorySeparatorChar) ? root : root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            ? real
            : throw new EvalMeshInputException($"'{path}' is outside the folders models and adapters may be read from ({string.Join(", ", roots!)})", setting: "EvalMesh:ModelRoots");
    }

    /// <summary>The model and adapter files of a llama endpoint, its adapter named in the run's adapters or not.</summary>
    /// <exception cref="EvalMeshInputException">A file is outside the allowed folders.</exception>
    /// <exception cref="UnknownNameException">The tiny model has no such adapter.</exception>
    public (string Model, string? Adapter) ResolveEndpoint(EndpointConfig endpoint, IReadOnlyList<AdapterConfig> adapters)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(adapters);
        var model = endpoint.Model ?? BuiltInModels.Tiny;
        var named = adapters.FirstOrDefault(a => a.Name == endpoint.Adapter);
        return (ResolveModel(model), named is null ? ResolveAdapter(model, endpoint.Adapter) : ResolveAdapter(named.Base, named.Path));
    }

    /// <summary>Every named model and its named adapters, as <c>base</c> and <c>base:adapter</c>.</summary>
    public IReadOnlyList<string> Names
    {
        get
        {
            lock (_gate)
            {
                IEnumerable<string> names = BuiltInModels.All.SelectMany(model => (string[])[model, $"{model}:adapter-1", $"{model}:adapter-2"]);
                return [.. names.Concat(_models.Keys).Concat(_adapters.Keys.Select(k => $"{k.Model}:{k.Adapter}")).Distinct().Order(StringComparer.Ordinal)];
            }
        }
    }

    /// <summary>Whether <paramref name="name"/> names a model (not a path): a built-in model or a registered one.</summary>
    public bool IsModelName(string name)
    {
        lock (_gate)
        {
            return BuiltInModels.IsModel(name) || _models.ContainsKey(name);
        }
    }

    /// <summary>Whether <paramref name="adapter"/> is one of a built-in model's adapters.</summary>
    public static bool IsBuiltInAdapter(string model, string adapter) => BuiltInModels.IsModel(model) && adapter is "adapter-1" or "adapter-2";

    /// <summary>The GGUF file of a model name or path.</summary>
    public string ResolveModel(string nameOrPath)
    {
        ArgumentNullException.ThrowIfNull(nameOrPath);
        lock (_gate)
        {
            if (_models.TryGetValue(nameOrPath, out var registered))
            {
                return registered;
            }
        }

        return BuiltInModels.IsModel(nameOrPath) ? BuiltInFiles(nameOrPath).Model : Allowed(nameOrPath);
    }

    /// <summary>The GGUF file of an adapter name (for <paramref name="model"/>) or path; null stays null.</summary>
    public string? ResolveAdapter(string model, string? nameOrPath)
    {
        if (nameOrPath is null)
        {
            return null;
        }

        lock (_gate)
        {
            if (_adapters.TryGetValue((model, nameOrPath), out var registered))
            {
                return registered;
            }
        }

        if (BuiltInModels.IsModel(model) && nameOrPath.StartsWith("adapter-", StringComparison.Ordinal) && !nameOrPath.EndsWith(".gguf", StringComparison.Ordinal))
        {
            var files = BuiltInFiles(model);
            return int.TryParse(nameOrPath["adapter-".Length..], out var index) && index >= 1 && index <= files.Adapters.Count
                ? files.Adapters[index - 1]
                : throw new UnknownNameException("adapter", nameOrPath, [.. Enumerable.Range(1, files.Adapters.Count).Select(i => $"adapter-{i}")]);
        }

        return Allowed(nameOrPath);
    }

    /// <summary>Splits <c>base:adapter</c> (the gateway's model field) and resolves both parts.</summary>
    public (string Model, string? Adapter) Resolve(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var colon = spec.IndexOf(':', StringComparison.Ordinal);
        var model = colon < 0 ? spec : spec[..colon];
        var adapter = colon < 0 ? null : spec[(colon + 1)..];
        return (ResolveModel(model), ResolveAdapter(model, adapter));
    }

    private TinyModelFiles BuiltInFiles(string model) =>
        model == BuiltInModels.Tiny ? TinyModel.EnsureTrainedCached(tinyCacheFolder) : TinyModel.EnsureRandomCached(tinyCacheFolder);

    // The path with every symbolic link in it followed, so that no link leads out of an allowed folder.
    private static string RealPath(string path, int depth = 0)
    {
        if (depth > 40)
        {
            throw new EvalMeshInputException("too many levels of symbolic links", file: path);
        }

        var full = Path.GetFullPath(path);
        var current = Path.GetPathRoot(full)!;
        foreach (var part in full[current.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            current = Path.Combine(current, part);
            if (new FileInfo(current).LinkTarget is { } target)
            {
                current = RealPath(Path.Combine(Path.GetDirectoryName(current)!, target), depth + 1);
            }
        }

        return current;
    }
}
