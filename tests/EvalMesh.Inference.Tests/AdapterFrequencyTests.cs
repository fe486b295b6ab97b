using EvalMesh.Inference.Llama;

namespace EvalMesh.Inference.Tests;

public class AdapterFrequencyTests
{
    [Fact]
    public void Victim_IsTheLeastUsed_CountsAge_AndEvictedAdaptersAreRemembered()
    {
        var frequency = new AdapterFrequency(period: 100);
        for (var i = 0; i < 30; i++)
        {
            frequency.Touch("popular");
        }

        frequency.Touch("once");
        Assert.Equal("once", frequency.Victim([("popular", 1), ("once", 2)]));
        Assert.Equal("a", frequency.Victim([("b", 5), ("a", 4)]));

        // The popular adapter is evicted (it leaves the cache) but its count is remembered, then halves with age.
        for (var i = 0; i < 69; i++)
        {
            frequency.Touch($"other-{i}");
        }

        Assert.Equal(15, frequency.Of("popular"));
        Assert.Equal(0, frequency.Of("once"));
    }

    [Fact]
    public void Victim_AddsTheOtherCachesCounts_AndASurplusCopyCostsNothing()
    {
        var frequency = new AdapterFrequency();
        frequency.Touch("moved");
        for (var i = 0; i < 5; i++)
        {
            frequency.Touch("local");
        }

        // New here, "moved" looks like a one-off; the other caches asked for it 30 times, so "local" is cheaper.
        Assert.Equal("moved", frequency.Victim([("moved", 2), ("local", 1)]));
        Assert.Equal("local", frequency.Victim([("moved", 2), ("local", 1)], key => new Elsewhere(key == "moved" ? 30 : 0)));

        // A surplus copy (another silo serves it) costs no load to evict, however popular.
        Assert.Equal("moved", frequency.Victim([("moved", 2), ("local", 1)], key => new Elsewhere(key == "moved" ? 30 : 0, Surplus: key == "moved")));
        Assert.Equal([new("local", 5), new KeyValuePair<string, int>("moved", 1)], frequency.Counts.OrderBy(c => c.Key, StringComparer.Ordinal));
    }
}
