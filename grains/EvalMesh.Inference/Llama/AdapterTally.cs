using Prometheus;

namespace EvalMesh.Inference.Llama;

/// <summary>One adapter's loads, hits, misses and evictions, counted here and in the metrics.</summary>
internal sealed class AdapterTally(ModelFiles files)
{
    private readonly Counter.Child _loads = InferenceMetrics.AdapterLoads.WithLabels(InferenceMetrics.Label(files.Model), InferenceMetrics.Label(files.Adapter));
    private readonly Counter.Child _evictions = InferenceMetrics.AdapterEvictions.WithLabels(InferenceMetrics.Label(files.Model), InferenceMetrics.Label(files.Adapter));
    private readonly Counter.Child _hits = InferenceMetrics.AdapterHits.WithLabels(InferenceMetrics.Label(files.Model), InferenceMetrics.Label(files.Adapter));
    private readonly Counter.Child _misses = InferenceMetrics.AdapterMisses.WithLabels(InferenceMetrics.Label(files.Model), InferenceMetrics.Label(files.Adapter));

    public AdapterCounters Counts { get; private set; } = new(0, 0, 0, 0);

    public void Load(TimeSpan took)
    {
        Counts = Counts with { Loads = Counts.Loads + 1 };
        _loads.Inc();
        InferenceMetrics.AdapterLoadDuration.Observe(took.TotalSeconds);
    }

    public void Evict()
    {
        Counts = Counts with { Evictions = Counts.Evictions + 1 };
        _evictions.Inc();
    }

    public void Served(bool wasResident)
    {
        if (wasResident)
        {
            Counts = Counts with { Hits = Counts.Hits + 1 };
            _hits.Inc();
        }
        else
        {
            Counts = Counts with { Misses = Counts.Misses + 1 };
            _misses.Inc();
        }
    }
}
