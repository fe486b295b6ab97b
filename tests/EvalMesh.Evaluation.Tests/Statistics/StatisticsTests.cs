using EvalMesh.Evaluation.Statistics;

namespace EvalMesh.Evaluation.Tests.Statistics;

public class StatisticsTests
{
    [Theory]
    [InlineData(8, 10, 0.4902, 0.9433)]
    [InlineData(0, 10, 0.0, 0.2775)]
    [InlineData(10, 10, 0.7225, 1.0)]
    [InlineData(50, 100, 0.4038, 0.5962)]
    public void Wilson_KnownValues(int successes, int trials, double lower, double upper)
    {
        var interval = WilsonInterval.Compute(successes, trials);
        Assert.Equal(lower, interval.Lower, 4);
        Assert.Equal(upper, interval.Upper, 4);
    }

    [Fact]
    public void Wilson_NoTrials_IsTheWholeRange()
    {
        Assert.Equal(new WilsonInterval(0, 0, 0, 1), WilsonInterval.Compute(0, 0));
    }

    [Theory]
    [InlineData(1, 9, 0.021484375)]
    [InlineData(5, 5, 1.0)]
    [InlineData(0, 6, 0.03125)]
    [InlineData(0, 0, 1.0)]
    public void McNemar_ExactPValues(int b, int c, double p)
    {
        Assert.Equal(p, McNemarTest.FromCounts(b, c).PValue, 9);
    }

    [Fact]
    public void McNemar_ThousandsOfDiscordantPairs_DoesNotUnderflow()
    {
        var test = McNemarTest.FromCounts(1500, 1600);
        Assert.InRange(test.PValue, 0.05, 0.1);
    }

    [Fact]
    public void McNemar_Pairs_CountsOnlyDiscordantOnes()
    {
        var test = McNemarTest.Compute([(true, true), (true, false), (false, false), (false, true), (true, false)]);
        Assert.Equal(2, test.OnlyFirstPassed);
        Assert.Equal(1, test.OnlySecondPassed);
    }

    [Fact]
    public void Percentiles_InterpolateBetweenRanks()
    {
        double[] values = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];
        Assert.Equal(55, Percentiles.Of(values, 50), 9);
        Assert.Equal(95.5, Percentiles.Of(values, 95), 9);
        Assert.True(double.IsNaN(Percentiles.Of([], 50)));
    }
}
