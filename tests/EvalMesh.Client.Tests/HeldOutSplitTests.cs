namespace EvalMesh.Client.Tests;

/// <summary><see cref="FineTuneLoop.HeldOut"/>: the cases a loop never trains on.</summary>
public sealed class HeldOutSplitTests
{
    private static List<CaseKey> Cases(int count) => [.. Enumerable.Range(0, count).Select(i => new CaseKey(i % 2 == 0 ? "a" : "b", $"q{i}"))];

    [Theory]
    [InlineData(20, 0.3, 6)]
    [InlineData(7, 0.3, 2)]
    [InlineData(3, 0.1, 1)]
    [InlineData(3, 0.9, 2)]
    [InlineData(1, 0.5, 0)]
    public void HeldOut_IsTheShareRounded_AtLeastOneAndNeverAll(int count, double share, int expected)
    {
        var cases = Cases(count);
        var heldOut = FineTuneLoop.HeldOut(cases, share, seed: 0);
        Assert.Equal(expected, heldOut.Count);
        Assert.True(heldOut.IsSubsetOf(cases));
    }

    [Fact]
    public void HeldOut_DependsOnTheSeedAndTheCases_NotOnTheirOrder()
    {
        var cases = Cases(40);
        var first = FineTuneLoop.HeldOut(cases, 0.3, seed: 1);
        Assert.True(first.SetEquals(FineTuneLoop.HeldOut([.. Enumerable.Reverse(cases)], 0.3, seed: 1)));
        Assert.False(first.SetEquals(FineTuneLoop.HeldOut(cases, 0.3, seed: 2)));

        // Not simply the first or last cases in either order.
        Assert.False(first.SetEquals(cases.Take(12)));
        Assert.False(first.SetEquals(cases.TakeLast(12)));
    }
}
