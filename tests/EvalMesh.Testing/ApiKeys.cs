namespace EvalMesh.Testing;

/// <summary>API keys for a silo process, as the environment variables that configure them.</summary>
public static class ApiKeys
{
    /// <summary>The environment that gives a silo these keys (name, key, scope: Read, Run or Admin), with <paramref name="more"/> added.</summary>
    public static Dictionary<string, string> Environment(IEnumerable<(string Name, string Key, string Scope)> keys, IReadOnlyDictionary<string, string>? more = null)
    {
        var environment = new Dictionary<string, string>(more ?? new Dictionary<string, string>());
        foreach (var (i, (name, key, scope)) in keys.Index())
        {
            environment[$"EvalMesh__Security__ApiKeys__{i}__Name"] = name;
            environment[$"EvalMesh__Security__ApiKeys__{i}__Key"] = key;
            environment[$"EvalMesh__Security__ApiKeys__{i}__Scope"] = scope;
        }

        return environment;
    }
}
