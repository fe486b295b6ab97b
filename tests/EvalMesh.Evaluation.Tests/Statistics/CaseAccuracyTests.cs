using EvalMesh.Contracts;
using EvalMesh.Evaluation.Statistics;

namespace EvalMesh.Evaluation.Tests.Statistics;

public class CaseAccuracyTests
{
    [Fact]
    public void Compute_OneRepeat_IsWilsonOverTheCases()
    {
        var cases = Enumerable.Range(0, 20).Select(i => new CaseTally(i < 14 ? 1 : 0, 1));
        var accuracy = CaseAccuracy.Compute(cases);
        var wilson = WilsonInterval.Compute(14, 20);
        Assert.Equal(IntervalMethod.Wilson, accuracy.Method);
        Assert.Equal(0.7, accuracy.Accuracy, 12);
        Assert.Equal(wilson.Lower, accuracy.Lower, 12);
        Assert.Equal(wilson.Upper, accuracy.Upper, 12);
        Assert.Null(accuracy.UnstableShare);
    }

    [Fact]
    public void Compute_EveryCaseFailsThreeRepeats_IsTheIntervalOfTwentyCases_NotOfSixtyTrials()
    {
        // The seed experiment printed "0.0% (0.0–6.0)" for this: 60 trials. Twenty cases say 0–16.1% (3.84 / 23.84).
        var accuracy = CaseAccuracy.Compute(Enumerable.Repeat(new CaseTally(0, 3), 20));
        Assert.Equal(0, accuracy.Accuracy);
        Assert.Equal(0, accuracy.Lower);
        Assert.Equal(1.959963984540054 * 1.959963984540054 / (20 + 1.959963984540054 * 1.959963984540054), accuracy.Upper, 12);
        Assert.Equal(20, accuracy.EffectiveCases);
    }

    [Fact]
    public void Compute_IdenticalRepeats_DoNotNarrowTheInterval()
    {
        // Temperature 0: three repeats that are the same answer are one observation of the case, not three.
        var once = CaseAccuracy.Compute(Enumerable.Range(0, 20).Select(i => new CaseTally(i < 14 ? 1 : 0, 1)));
        var thrice = CaseAccuracy.Compute(Enumerable.Range(0, 20).Select(i => new CaseTally(i < 14 ? 3 : 0, 3)));
        Assert.Equal(once.Accuracy, thrice.Accuracy, 12);
        Assert.True(thrice.Lower <= once.Lower && thrice.Upper >= once.Upper, $"{thrice} vs {once}");
        Assert.True(thrice.Upper - thrice.Lower < 0.5);
    }

    [Fact]
    public void Compute_Repeats_IsWilsonOnTheClusteredEffectiveSize_WithT()
    {
        int[] passes = [3, 3, 2, 0, 1, 3, 0, 2, 3, 1];
        var accuracy = CaseAccuracy.Compute(passes.Select(p => new CaseTally(p, 3)));

        // Recomputed by hand: the mean of the rates, their variance (n − 1), n_eff = p(1 − p)·n / s², t(0.975, 9).
        var rates = passes.Select(p => p / 3.0).ToArray();
        var mean = rates.Average();
        var variance = rates.Sum(r => (r - mean) * (r - mean)) / 9;
        var effective = mean * (1 - mean) * 10 / variance;
        const double t = 2.262157162798205;
        var centre = (mean + t * t / (2 * effective)) / (1 + t * t / effective);
        var half = t / (1 + t * t / effective) * Math.Sqrt(mean * (1 - mean) / effective + t * t / (4 * effective * effective));
        Assert.Equal(IntervalMethod.Clustered, accuracy.Method);
        Assert.Equal(18 / 30.0, accuracy.Accuracy, 12);
        Assert.Equal(effective, accuracy.EffectiveCases, 9);
        Assert.Equal(centre - half, accuracy.Lower, 9);
        Assert.Equal(centre + half, accuracy.Upper, 9);
        Assert.Equal(4, accuracy.UnstableCases);
        Assert.Equal(0.4, accuracy.UnstableShare!.Value, 12);
    }

    [Fact]
    public void Compute_CasesWithOnlyErrors_AreLeftOut()
    {
        var accuracy = CaseAccuracy.Compute([new CaseTally(1, 1), new CaseTally(0, 0), new CaseTally(0, 1)]);
        Assert.Equal(2, accuracy.Cases);
        Assert.Equal(0.5, accuracy.Accuracy, 12);
    }

    [Fact]
    public void Compute_RatesAreAveragedPerCase_NotPooledOverTrials()
    {
        // One case passed 1 of 1 (its other repeats errored), one passed 0 of 3: the mean of the cases is 50%, not 25%.
        var accuracy = CaseAccuracy.Compute([new CaseTally(1, 1), new CaseTally(0, 3)]);
        Assert.Equal(0.5, accuracy.Accuracy, 12);
    }
}
