namespace EvalMesh.Inference.Llama;

/// <summary>Which idle adapter makes room for another (setting <c>EvalMesh:ModelHost:Eviction</c>).</summary>
public enum EvictionPolicy
{
    /// <summary>The least often used lately, cluster-wide (<see cref="AdapterFrequency"/>); the default.</summary>
    Frequency,

    /// <summary>The least recently used: the classic policy, kept for comparison.</summary>
    Lru,
}

/// <summary>An adapter that could make room, and when this host last used it.</summary>
/// <param name="Files">The adapter.</param>
/// <param name="LastUsed">A clock that increases with each use here.</param>
internal readonly record struct EvictionCandidate(ModelFiles Files, long LastUsed);

/// <summary>Chooses the adapter to evict among candidates; pure, so that its choices can be tested without llama.cpp.</summary>
internal interface IAdapterEviction
{
    /// <summary>The candidate ranked last.</summary>
    ModelFiles Victim(IReadOnlyCollection<EvictionCandidate> candidates);

    /// <summary>The policy a setting names; <paramref name="frequency"/> and <paramref name="elsewhere"/> are what the frequency policy ranks by.</summary>
    static IAdapterEviction Create(EvictionPolicy policy, AdapterFrequency frequency, Func<ModelFiles, Elsewhere> elsewhere) => policy switch
    {
        EvictionPolicy.Lru => new LruEviction(),
        _ => new FrequencyEviction(frequency, elsewhere),
    };
}

/// <summary>The least often used lately: this host's count plus the other silos' (or none for a surplus copy), then the least recently used.</summary>
internal sealed class FrequencyEviction(AdapterFrequency frequency, Func<ModelFiles, Elsewhere> elsewhere) : IAdapterEviction
{
    public ModelFiles Victim(IReadOnlyCollection<EvictionCandidate> candidates)
    {
        var byKey = candidates.ToDictionary(c => c.Files.Key, c => c.Files, StringComparer.Ordinal);
        var chosen = frequency.Victim(candidates.Select(c => (c.Files.Key, c.LastUsed)), key => elsewhere(byKey[key]));
        return byKey[chosen!];
    }
}

/// <summary>The least recently used.</summary>
internal sealed class LruEviction : IAdapterEviction
{
    public ModelFiles Victim(IReadOnlyCollection<EvictionCandidate> candidates) => candidates.MinBy(c => c.LastUsed).Files;
}
