using EvalMesh.Contracts;
using EvalMesh.Evaluation.Statistics;

namespace EvalMesh.Evaluation.Tests.Statistics;

public class FormatRecommendationTests
{
    // A format whose case i passes `passes(i)` of `repeats` repeats.
    private static FormatOutcome Format(string name, double tokens, int cases, Func<int, int> passes, int repeats = 1) =>
        new(name, tokens, Enumerable.Range(0, cases).ToDictionary(i => $"case-{i}", i => new CaseTally(passes(i), repeats)));

    [Fact]
    public void Recommend_EveryFormatAtZero_IsInconclusive_NotTheCheapest()
    {
        // The seed experiment's "csv ties for the highest accuracy (0.0%)": no evidence, so no answer.
        var recommendation = FormatRecommendation.Recommend([Format("pretty-json", 900, 20, _ => 0, 3), Format("csv", 400, 20, _ => 0, 3)]);
        Assert.Null(recommendation.Format);
        Assert.Equal(RecommendationVerdict.Inconclusive, recommendation.Verdict);
        Assert.Null(recommendation.CasesNeeded);
        Assert.StartsWith("No format passed any case (20 cases)", recommendation.Reason);
    }

    [Fact]
    public void Recommend_TwentyCasesEquallyAccurate_IsInconclusive_AndSaysHowManyCasesWouldDecide()
    {
        // A tie goes to the cheaper format, which must then be shown within the margin of the other: over 20 agreeing
        // cases the difference's bound is 16 points, not 3. Before, "not significantly worse" made csv the answer.
        var recommendation = FormatRecommendation.Recommend([Format("pretty-json", 900, 20, i => i < 16 ? 1 : 0), Format("csv", 400, 20, i => i < 16 ? 1 : 0)]);
        Assert.Null(recommendation.Format);
        Assert.Equal("csv", recommendation.Best);
        Assert.Equal(RecommendationVerdict.Inconclusive, recommendation.Verdict);
        Assert.Equal(88, recommendation.CasesNeeded);
        Assert.Contains("about 88 cases would show csv within 3 points of every other format", recommendation.Reason);
        Assert.Equal(FormatStanding.NotCheaper, recommendation.Comparisons.Single(c => c.Format == "pretty-json").Standing);
    }

    [Fact]
    public void Recommend_CheaperFormatShownWithinTheMargin_IsChosen()
    {
        var json = Format("pretty-json", 900, 400, i => i % 5 == 0 ? 0 : 1);
        var csv = Format("csv", 400, 400, i => i % 5 == 0 || i == 1 ? 0 : 1);
        var recommendation = FormatRecommendation.Recommend([json, csv]);
        Assert.Equal("csv", recommendation.Format);
        Assert.Equal(RecommendationVerdict.NonInferior, recommendation.Verdict);
        Assert.Contains("non-inferiority p = ", recommendation.Reason);
        var comparison = recommendation.Comparisons.Single(c => c.Format == "csv");
        Assert.Equal(FormatStanding.NonInferior, comparison.Standing);
        Assert.True(comparison.VersusBest!.Lower > -0.03);
        Assert.Equal(comparison.VersusBest.PValueAbove(-0.03), comparison.PValue!.Value, 12);
    }

    [Fact]
    public void Recommend_CheaperFormatsWorseByMoreThanTheMargin_RecommendsTheMostAccurate()
    {
        var json = Format("pretty-json", 900, 200, i => i < 190 ? 1 : 0);
        var csv = Format("csv", 400, 200, i => i < 80 ? 1 : 0);
        var yaml = Format("yaml", 700, 200, i => i < 120 ? 1 : 0);
        var recommendation = FormatRecommendation.Recommend([json, csv, yaml]);
        Assert.Equal("pretty-json", recommendation.Format);
        Assert.Equal(RecommendationVerdict.CheaperFormatsWorse, recommendation.Verdict);
        Assert.All(recommendation.Comparisons.Where(c => c.Format != "pretty-json"), c => Assert.Equal(FormatStanding.Inferior, c.Standing));
        Assert.Equal(["csv", "yaml", "pretty-json"], recommendation.Comparisons.Select(c => c.Format));
    }

    [Fact]
    public void Recommend_TheCheapestShownWithinTheMargin_AmongSeveral()
    {
        // On 2,000 cases pretty-json passes five more than yaml and csv, which agree: both are shown within the
        // margin (Holm over the two), and the cheapest is the answer.
        var recommendation = FormatRecommendation.Recommend([
            Format("pretty-json", 900, 2000, i => i % 4 != 0 || i % 400 == 0 ? 1 : 0),
            Format("yaml", 700, 2000, i => i % 4 != 0 ? 1 : 0),
            Format("csv", 400, 2000, i => i % 4 != 0 ? 1 : 0)]);
        Assert.Equal("csv", recommendation.Format);
        Assert.Equal("pretty-json", recommendation.Best);
        Assert.Equal(RecommendationVerdict.NonInferior, recommendation.Verdict);
        var raw = recommendation.Comparisons.Where(c => c.Format != "pretty-json").Select(c => c.VersusBest!.PValueAbove(-0.03)).ToList();
        Assert.Equal(FormatRecommendation.Holm(raw), recommendation.Comparisons.Where(c => c.Format != "pretty-json").Select(c => c.PValue!.Value));
    }

    [Fact]
    public void Recommend_MostAccurateIsAlsoTheCheapest_NeedsEvidenceAgainstEveryOther()
    {
        // csv is the most accurate and the cheapest. On 500 cases it is shown within the margin of pretty-json (it is
        // better); on 10 cases nothing is shown, so the same ranking is no answer.
        FormatRecommendation On(int cases) => FormatRecommendation.Recommend([Format("pretty-json", 900, cases, i => i % 10 < 8 ? 1 : 0), Format("csv", 400, cases, i => i % 10 < 9 ? 1 : 0)]);
        var many = On(500);
        Assert.Equal("csv", many.Format);
        Assert.Equal(RecommendationVerdict.BestIsCheapest, many.Verdict);
        var few = On(10);
        Assert.Null(few.Format);
        Assert.Equal("csv", few.Best);
        Assert.Equal(RecommendationVerdict.Inconclusive, few.Verdict);
        Assert.NotNull(few.CasesNeeded);
        Assert.Contains("is the most accurate (90.0% on 10 cases) and the cheapest, but it is not shown within 3 points of every other format", few.Reason);
    }

    [Fact]
    public void Recommend_OneFormat_IsTheOnlyChoice_UnlessItNeverPasses()
    {
        Assert.Equal(RecommendationVerdict.OnlyFormat, FormatRecommendation.Recommend([Format("csv", 400, 5, i => i % 2)]).Verdict);
        Assert.Equal(RecommendationVerdict.Inconclusive, FormatRecommendation.Recommend([Format("csv", 400, 5, _ => 0)]).Verdict);
        Assert.Equal(RecommendationVerdict.Inconclusive, FormatRecommendation.Recommend([]).Verdict);
    }

    [Fact]
    public void Recommend_AWiderMargin_DecidesWhatANarrowOneDoesNot()
    {
        FormatOutcome[] formats = [Format("pretty-json", 900, 50, i => i % 10 == 0 ? 0 : 1), Format("csv", 400, 50, i => i % 10 == 0 ? 0 : 1)];
        Assert.Null(FormatRecommendation.Recommend(formats, new RecommendSettings(0.03, 0.05)).Format);
        Assert.Equal("csv", FormatRecommendation.Recommend(formats, new RecommendSettings(0.1, 0.05)).Format);
    }

    [Fact]
    public void Holm_KnownAdjustment()
    {
        // Sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1, kept monotone: 0.02, 0.03, 0.06, 0.06.
        var adjusted = FormatRecommendation.Holm([0.01, 0.04, 0.03, 0.005]);
        Assert.Equal([0.03, 0.06, 0.06, 0.02], adjusted.Select(p => Math.Round(p, 12)));
        Assert.Equal([1.0], FormatRecommendation.Holm([0.7]).Select(p => Math.Round(p + 0.3, 12)));
    }
}
