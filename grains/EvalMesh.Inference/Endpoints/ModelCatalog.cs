using EvalMesh.Evaluation;
using EvalMesh.Inference.Tiny;

namespace EvalMesh.Inference.Endpoints;

/// <summary>
/// Resolves model and adapter names to GGUF files: the built-in <c>tiny</c> model with <c>adapter-1</c> and
/// <c>adapter-2</c> (generated on first use into the cache folder), names registered at run time, and plain paths.
/// </summary>
public sealed class ModelCatalog(string? tinyCacheFolder = null)
{
    /// <summary>The built-in model's name.</summary>
    public const string Tiny = "tiny";

    private readonly Dictionary<string, string> _models = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Model, string Adapter), string> _adapters = [];
    private readonly Lock _gate = new();

    /// <summary>Registers a base model under a name.</summary>
    public void RegisterModel(string name, string path)
    {
        lock (_gate)
        {
            _models[name] = Path.GetFullPath(path);
        }
    }

    /// <summary>Registers an adapter under a name, for a base model name.</summary>
    public void RegisterAdapter(string model, string name, string path)
    {
        lock (_gate)
        {
            _adapters[(model, name)] = Path.GetFullPath(path);
        }
    }

    /// <summary>Every named model and its named adapters, as <c>base</c> and <c>base:adapter</c>.</summary>
    public IReadOnlyList<string> Names
    {
        get
        {
            lock (_gate)
            {
                IEnumerable<string> names = [Tiny, $"{Tiny}:adapter-1", $"{Tiny}:adapter-2"];
                return [.. names.Concat(_models.Keys).Concat(_adapters.Keys.Select(k => $"{k.Model}:{k.Adapter}")).Distinct().Order(StringComparer.Ordinal)];
            }
        }
    }

    /// <summary>Whether <paramref name="name"/> names a model (not a path): the built-in tiny model or a registered one.</summary>
    public bool IsModelName(string name)
    {
        lock (_gate)
        {
            return name == Tiny || _models.ContainsKey(name);
        }
    }

    /// <summary>Whether <paramref name="adapter"/> is one of the built-in tiny model's adapters.</summary>
    public static bool IsBuiltInAdapter(string model, string adapter) => model == Tiny && adapter is "adapter-1" or "adapter-2";

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

        return nameOrPath == Tiny ? TinyModel.EnsureCached(tinyCacheFolder).Model : Path.GetFullPath(nameOrPath);
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

        if (model == Tiny && nameOrPath.StartsWith("adapter-", StringComparison.Ordinal) && !nameOrPath.EndsWith(".gguf", StringComparison.Ordinal))
        {
            var files = TinyModel.EnsureCached(tinyCacheFolder);
            return int.TryParse(nameOrPath["adapter-".Length..], out var index) && index >= 1 && index <= files.Adapters.Count
                ? files.Adapters[index - 1]
                : throw new UnknownNameException("adapter", nameOrPath, [.. Enumerable.Range(1, files.Adapters.Count).Select(i => $"adapter-{i}")]);
        }

        return Path.GetFullPath(nameOrPath);
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
}
