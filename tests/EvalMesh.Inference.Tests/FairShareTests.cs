using EvalMesh.Inference.Endpoints;

namespace EvalMesh.Inference.Tests;

public sealed class FairShareTests
{
    private const double All = double.PositiveInfinity;

    [Theory]
    [InlineData(10, new[] { All, All }, new[] { 5.0, 5.0 })]
    [InlineData(10, new[] { 1.0, All, All }, new[] { 1.0, 4.5, 4.5 })]
    [InlineData(10, new[] { 2.0, 3.0 }, new[] { 2.0, 3.0 })]
    [InlineData(9, new[] { All, 0.0, All, All }, new[] { 3.0, 0.0, 3.0, 3.0 })]
    [InlineData(10, new[] { 8.0, 8.0 }, new[] { 5.0, 5.0 })]
    public void Split_GivesSmallClaimsInFull_AndSplitsTheRestEqually(double capacity, double[] wants, double[] expected)
    {
        var shares = FairShare.Split(capacity, wants);
        Assert.Equal(expected, shares, (a, b) => Math.Abs(a - b) < 1e-9);
        Assert.True(shares.Sum() <= capacity + 1e-9);
    }

    [Theory]
    [InlineData(4, new[] { All, All, All }, new[] { 2, 1, 1 })]
    [InlineData(4, new[] { 1.0, All, All }, new[] { 1, 2, 1 })]
    [InlineData(2, new[] { All, All, All }, new[] { 1, 1, 0 })]
    [InlineData(16, new[] { 3.0, All }, new[] { 3, 13 })]
    public void SplitWhole_HandsOutEveryWholeUnit_ToThoseStillShort(int capacity, double[] wants, int[] expected) =>
        Assert.Equal(expected, FairShare.SplitWhole(capacity, wants));
}
