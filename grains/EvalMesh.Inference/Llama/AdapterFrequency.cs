namespace EvalMesh.Inference.Llama;

/// <summary>How the rest of a cluster sees an adapter that a cache holds.</summary>
/// <param name="Count">The other caches' counts of it; with this cache's, its cluster-wide frequency.</param>
/// <param name="Surplus">Whether this cache's copy is surplus: another silo serves the adapter too, so evicting this
/// copy costs no load and it ranks as if never asked for.</param>
public readonly record struct Elsewhere(int Count, bool Surplus = false);

/// <summary>
/// How often each adapter is asked for, in the spirit of TinyLFU: counts age (all halve every
/// <c>period</c> requests) so that yesterday's favourite does not stay forever, and adapters that were evicted keep their
/// count for a while (ghosts) so that a popular adapter coming back is recognised. The cache evicts the idle adapter
/// with the lowest count, the least recently used first among equals; a one-off adapter therefore never pushes out a
/// popular one. In a cluster each cache counts its own requests, and ranks its victims by its count plus the other
/// caches' counts (their sum is the adapter's cluster-wide frequency), so that an adapter that moved here from another
/// silo is not mistaken for a one-off; a surplus copy (one another silo serves too) ranks as if never asked for. Pure
/// and single-threaded: the adapter cache and the routing simulation use the same code.
/// </summary>
public sealed class AdapterFrequency(int period = 1024, int ghosts = 4096)
{
    private readonly Dictionary<string, int> _counts = new(StringComparer.Ordinal);
    private int _sinceAging;

    /// <summary>Records one request for an adapter.</summary>
    public void Touch(string key)
    {
        _counts[key] = _counts.GetValueOrDefault(key) + 1;
        if (++_sinceAging < period)
        {
            return;
        }

        _sinceAging = 0;
        foreach (var (k, count) in _counts.ToList())
        {
            if (count <= 1)
            {
                _counts.Remove(k);
            }
            else
            {
                _counts[k] = count / 2;
            }
        }

        if (_counts.Count > ghosts)
        {
            foreach (var (k, _) in _counts.OrderBy(p => p.Value).Take(_counts.Count - ghosts).ToList())
            {
                _counts.Remove(k);
            }
        }
    }

    /// <summary>Forgets an adapter's count, so that it is the first candidate to evict.</summary>
    public void Forget(string key) => _counts.Remove(key);

    /// <summary>An adapter's current count here (0 when never or long ago asked for).</summary>
    public int Of(string key) => _counts.GetValueOrDefault(key);

    /// <summary>Every adapter counted here, evicted ones (ghosts) included.</summary>
    public IEnumerable<KeyValuePair<string, int>> Counts => _counts;

    /// <summary>
    /// The candidate to evict: the lowest count, then the least recently used. The count is this one's plus the other
    /// caches' counts of the same adapter from <paramref name="elsewhere"/> (none when omitted), or 0 for a surplus copy.
    /// </summary>
    public string? Victim(IEnumerable<(string Key, long LastUsed)> candidates, Func<string, Elsewhere>? elsewhere = null) =>
        candidates.OrderBy(c => Rank(c.Key, elsewhere?.Invoke(c.Key) ?? default)).ThenBy(c => c.LastUsed).Select(c => c.Key).FirstOrDefault();

    private int Rank(string key, Elsewhere elsewhere) => elsewhere.Surplus ? 0 : Of(key) + elsewhere.Count;
}
