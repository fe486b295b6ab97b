using EvalMesh.Contracts;
using EvalMesh.Evaluation.Statistics;
using EvalMesh.Testing;

namespace EvalMesh.Evaluation.Tests.Statistics;

/// <summary>
/// The fast version of the benchmark's <c>statistics</c> table: a few hundred simulated runs with a fixed seed, so a
/// change that breaks the intervals' coverage or the margin's error rate fails here.
/// </summary>
public class StatisticsSimulationTests
{
    private const int Runs = 300;

    public static TheoryData<int, int> Shapes() => new() { { 20, 1 }, { 20, 3 }, { 200, 1 }, { 200, 3 } };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void PerCase_CoversTheTruth_AndRarelyRecommendsAFormatWorseByTheMargin(int cases, int repeats)
    {
        var scenario = new SimulationScenario("test", cases, repeats, 1.2, 1.5, RecommendSettings.DefaultMargin);
        var tally = StatisticsSimulation.Run(scenario, Runs, seed: cases * 10 + repeats, RecommendSettings.Default)[SimulationMethod.PerCase];
        Assert.InRange(tally.AccuracyCoverage, 0.93, 0.97);

        // Tango's interval is conservative when few cases disagree (20 cases): at least 93%, at most 99.5%.
        Assert.InRange(tally.DifferenceCoverage, 0.93, 0.995);
        Assert.True(tally.CheapestRate <= 0.05, $"csv, truly 3 points worse, recommended in {tally.CheapestRate:P1} of runs");
    }

    [Fact]
    public void PerCell_WithRepeats_CoversLessThanItSays_AndRecommendsTheWorseFormat()
    {
        // The method before: every repeat a trial. The same band fails it, which is why the case is the unit.
        var scenario = new SimulationScenario("test", 20, 3, 1.2, 1.5, RecommendSettings.DefaultMargin);
        var tally = StatisticsSimulation.Run(scenario, Runs, seed: 7, RecommendSettings.Default)[SimulationMethod.PerCell];
        Assert.True(tally.AccuracyCoverage < 0.93, $"{tally.AccuracyCoverage:P1}");
        Assert.True(tally.CheapestRate > 0.5, $"{tally.CheapestRate:P1}");
    }

    [Fact]
    public void TrueAccuracy_OfTheLogitNormal_IsTheMeanOfItsCases()
    {
        // Zero mean and spread: every case passes with probability ½; a symmetric spread keeps the mean at ½.
        Assert.Equal(0.5, StatisticsSimulation.TrueAccuracy(0, 0, 0), 9);
        Assert.Equal(0.5, StatisticsSimulation.TrueAccuracy(0, 2, 0), 9);
        Assert.Equal(1 / (1 + Math.Exp(-1.2)), StatisticsSimulation.TrueAccuracy(1.2, 0, 0), 9);
        Assert.InRange(StatisticsSimulation.TrueAccuracy(1.2, 1.5, 0), 0.69, 0.71);
    }
}
