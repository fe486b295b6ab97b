using EvalMesh.Contracts;
using EvalMesh.Evaluation.Statistics;

namespace EvalMesh.Evaluation.Tests.Statistics;

public class PairedDifferenceTests
{
    // A paired 2×2 table with one repeat: both passed, only the first, only the second, neither.
    private static PairedDifference Table(int both, int onlyFirst, int onlySecond, int neither, double confidence = 0.95) =>
        PairedDifference.Compute(
            Enumerable.Repeat((new CaseTally(1, 1), new CaseTally(1, 1)), both)
                .Concat(Enumerable.Repeat((new CaseTally(1, 1), new CaseTally(0, 1)), onlyFirst))
                .Concat(Enumerable.Repeat((new CaseTally(0, 1), new CaseTally(1, 1)), onlySecond))
                .Concat(Enumerable.Repeat((new CaseTally(0, 1), new CaseTally(0, 1)), neither)),
            confidence);

    // Tango's score interval as R's ratesci::pairbinci computes it (its tests, to three decimals).
    [Theory]
    [InlineData(4, 9, 3, 16, 0.95, -0.027, 0.390)]
    [InlineData(43, 0, 1, 0, 0.90, -0.096, 0.037)]
    public void Compute_OneRepeat_IsTangosInterval(int both, int onlyFirst, int onlySecond, int neither, double confidence, double lower, double upper)
    {
        var d = Table(both, onlyFirst, onlySecond, neither, confidence);
        Assert.Equal(IntervalMethod.Wilson, d.Method);
        Assert.Equal((onlyFirst - onlySecond) / (double)(both + onlyFirst + onlySecond + neither), d.Difference, 12);
        Assert.Equal(lower, d.Lower, 3);
        Assert.Equal(upper, d.Upper, 3);
        Assert.Equal(onlyFirst, d.FirstBetter);
        Assert.Equal(onlySecond, d.SecondBetter);
    }

    [Fact]
    public void Compute_NoDisagreement_IsNotAPoint()
    {
        // With b = c = 0, Tango's bound solves n·|Δ| / (1 − |Δ|) = z²: |Δ| = z² / (n + z²), 16.1% for 20 cases.
        var d = Table(10, 0, 0, 10);
        var z2 = 1.959963984540054 * 1.959963984540054;
        Assert.Equal(-z2 / (20 + z2), d.Lower, 9);
        Assert.Equal(z2 / (20 + z2), d.Upper, 9);
    }

    [Fact]
    public void Compute_RepeatsThatNeverDisagree_AddNothing()
    {
        var once = Table(10, 0, 0, 10);
        var thrice = PairedDifference.Compute(Enumerable.Range(0, 20).Select(i => i < 10 ? (new CaseTally(3, 3), new CaseTally(3, 3)) : (new CaseTally(0, 3), new CaseTally(0, 3))));
        Assert.Equal(once.Lower, thrice.Lower, 12);
        Assert.Equal(once.Upper, thrice.Upper, 12);
        Assert.Equal(20, thrice.EffectiveCases);
    }

    [Fact]
    public void PValueTwoSided_OneRepeat_IsMcNemarsStatistic()
    {
        // z = (b − c) / √(b + c) = 6 / √12; 2·(1 − Φ(1.7320508)) = 0.0832645166635504 (R: 2 * pnorm(-sqrt(3))).
        Assert.Equal(0.0832645166635504, Table(4, 9, 3, 16).PValueTwoSided(), 10);
    }

    [Theory]
    [InlineData(4, 9, 3, 16)]
    [InlineData(1, 1, 7, 12)]
    [InlineData(59, 6, 16, 80)]
    [InlineData(30, 2, 0, 30)]
    public void PValues_AgreeWithTheInterval(int both, int onlyFirst, int onlySecond, int neither)
    {
        var d = Table(both, onlyFirst, onlySecond, neither);
        Assert.Equal(0.025, d.PValueAbove(d.Lower), 6);
        Assert.Equal(0.025, d.PValueBelow(d.Upper), 6);
        Assert.Equal(d.Lower > 0 || d.Upper < 0, d.PValueTwoSided() < 0.05);
    }

    [Fact]
    public void Compute_Repeats_ClusterByCase()
    {
        // Ten cases, three repeats each; the first condition's pass counts against the second's.
        int[] first = [3, 2, 3, 1, 0, 3, 2, 3, 3, 0];
        int[] second = [3, 3, 3, 0, 0, 3, 3, 2, 3, 0];
        var d = PairedDifference.Compute(first.Select((f, i) => (new CaseTally(f, 3), new CaseTally(second[i], 3))));

        // By hand: per-case differences, their mean and variance (n − 1); one trial's variance (b + c)/n − d².
        var diffs = first.Select((f, i) => (f - second[i]) / 3.0).ToArray();
        var mean = diffs.Average();
        var variance = diffs.Sum(x => (x - mean) * (x - mean)) / 9;
        var perTrial = diffs.Sum(Math.Abs) / 10 - mean * mean;
        Assert.Equal(IntervalMethod.Clustered, d.Method);
        Assert.Equal(0, d.Difference, 12);
        Assert.Equal(perTrial * 10 / variance, d.EffectiveCases, 9);
        Assert.Equal(2, d.FirstBetter);
        Assert.Equal(2, d.SecondBetter);
        Assert.True(d.Lower < 0 && d.Upper > 0);
        Assert.Equal(-d.Lower, d.Upper, 9);
    }

    [Fact]
    public void CasesNeeded_NoDisagreement_IsTheScoreTestsSampleSize()
    {
        // σ at the alternative is 0, at the null √(m(1 − m)): n = z(0.95)²·(1 − m)/m = 87.5 for a 3-point margin.
        var d = Table(10, 0, 0, 10);
        Assert.Equal(88, d.CasesNeeded(-0.03, 0.05));
        Assert.Null(Table(0, 0, 0, 0).CasesNeeded(-0.03, 0.05));
    }

    [Fact]
    public void CasesNeeded_AtThatManyCases_ShowsIt()
    {
        // Scale the table up to the cases asked for: the one-sided test then passes at the observed proportions
        // (the 80% power is over samples; at the observed proportions themselves the bound clears the margin).
        var d = Table(70, 1, 3, 26);
        var needed = d.CasesNeeded(-0.03, 0.05)!.Value;
        var factor = (int)Math.Ceiling(needed / 100.0);
        var bigger = Table(70 * factor, 1 * factor, 3 * factor, 26 * factor);
        Assert.True(bigger.PValueAbove(-0.03) < 0.05, $"{needed} cases: p = {bigger.PValueAbove(-0.03)}");
        Assert.True(d.PValueAbove(-0.03) > 0.05);
    }
}
