using Prometheus;

namespace EvalMesh.Grains.Hosting;

/// <summary>
/// A gauge whose series are exactly the ones last published: a series missing from a publication is removed, so that
/// finished runs or adapters no longer resident do not linger at their last value.
/// </summary>
internal sealed class CurrentGauge(Gauge gauge)
{
    private readonly HashSet<string[]> _published = new(LabelsComparer.Instance);

    /// <summary>Sets every series given (label values → value) and removes the others.</summary>
    public void Publish(IEnumerable<(string[] Labels, double Value)> series)
    {
        lock (_published)
        {
            var now = series.ToList();
            var current = now.Select(s => s.Labels).ToHashSet(LabelsComparer.Instance);
            foreach (var gone in _published.Where(labels => !current.Contains(labels)).ToList())
            {
                gauge.RemoveLabelled(gone);
                _published.Remove(gone);
            }

            foreach (var (labels, value) in now)
            {
                gauge.WithLabels(labels).Set(value);
                _published.Add(labels);
            }
        }
    }

    private sealed class LabelsComparer : IEqualityComparer<string[]>
    {
        public static readonly LabelsComparer Instance = new();

        public bool Equals(string[]? x, string[]? y) => x is not null && y is not null && x.SequenceEqual(y, StringComparer.Ordinal);

        public int GetHashCode(string[] labels) => labels.Aggregate(0, (hash, label) => HashCode.Combine(hash, StringComparer.Ordinal.GetHashCode(label)));
    }
}
