using EvalMesh.Evaluation.Statistics;

namespace EvalMesh.Evaluation.Tests.Statistics;

public class DistributionsTests
{
    // Reference values: R's qnorm, qt; Python's statistics.NormalDist and math.erfc; the t density integrated by Simpson's rule.
    [Theory]
    [InlineData(0.975, 1.959963984540054)]
    [InlineData(0.95, 1.644853626951472)]
    [InlineData(0.8, 0.841621233572914)]
    [InlineData(0.5, 0)]
    [InlineData(0.001, -3.090232306167813)]
    [InlineData(1e-10, -6.361340902404056)]
    public void NormalQuantile_KnownValues(double p, double expected)
    {
        Assert.Equal(expected, Distributions.NormalQuantile(p), 12);
    }

    [Theory]
    [InlineData(1.96, 0.9750021048517795)]
    [InlineData(-1.0, 0.1586552539314571)]
    [InlineData(-5.0, 2.866515718791946e-07)]
    [InlineData(3.0, 0.9986501019683699)]
    public void NormalCdf_KnownValues(double x, double expected)
    {
        Assert.Equal(expected, Distributions.NormalCdf(x), 14);
    }

    [Theory]
    [InlineData(0.975, 19, 2.093024054408263)]
    [InlineData(0.975, 1, 12.70620473617471)]
    [InlineData(0.975, 9, 2.262157162798205)]
    [InlineData(0.05, 4, -2.131846786326649)]
    public void StudentTQuantile_KnownValues(double p, double df, double expected)
    {
        Assert.Equal(expected, Distributions.StudentTQuantile(p, df), 9);
    }

    [Theory]
    [InlineData(2.0, 5, 0.9490302605850709)]
    [InlineData(-1.5, 12, 0.07972875175660393)]
    public void StudentTCdf_KnownValues(double t, double df, double expected)
    {
        Assert.Equal(expected, Distributions.StudentTCdf(t, df), 11);
    }
}
