using EvalMesh.Training.Model;
using EvalMesh.Training.Optimization;

namespace EvalMesh.Training.Tests;

public sealed class OptimizerTests
{
    [Fact]
    public void AdamW_FirstStep_MovesEachParameterByTheLearningRateAgainstItsGradient()
    {
        // After one step the bias-corrected moments are g and g², so the update is lr · g / (|g| + ε) ≈ lr · sign(g).
        var parameter = new NamedTensor<double>("w", [1.0, -2.0, 0.5], [3, 1]);
        var gradient = new NamedTensor<double>("w", [0.3, -4.0, 0.0], [3, 1]);
        var adam = new AdamW<double>([parameter], new AdamWSettings());
        adam.Step([gradient], 0.01);
        Assert.Equal([0.99, -1.99, 0.5], parameter.Values.Select(v => Math.Round(v, 6)));
    }

    [Fact]
    public void AdamW_DecaysMatricesButNotNormWeights()
    {
        var matrix = new NamedTensor<double>("blk.0.attn_q.weight", [1.0], [1, 1]);
        var norm = new NamedTensor<double>("blk.0.attn_norm.weight", [1.0], [1]);
        var adam = new AdamW<double>([matrix, norm], new AdamWSettings(WeightDecay: 0.5f));
        adam.Step([new NamedTensor<double>("g", [0.0], [1, 1]), new NamedTensor<double>("g", [0.0], [1])], 0.1);
        Assert.Equal(0.95, matrix.Values[0], 12);
        Assert.Equal(1.0, norm.Values[0]);
    }

    [Fact]
    public void ClipByGlobalNorm_ScalesEveryGradientToTheMaximum_AndLeavesSmallOnesAlone()
    {
        List<NamedTensor<double>> gradients = [new("a", [3.0], [1]), new("b", [4.0], [1])];
        Assert.Equal(5.0, Gradients.ClipByGlobalNorm(gradients, 1.0), 12);
        Assert.Equal(1.0, Gradients.Norm(gradients), 5);
        Assert.Equal(0.6, gradients[0].Values[0], 5);
        Assert.Equal(1.0, Gradients.ClipByGlobalNorm(gradients, 2.0), 5);
        Assert.Equal(0.6, gradients[0].Values[0], 5);
    }

    [Theory]
    [InlineData(LearningRateSchedule.Constant, new[] { 0.5, 1.0, 1.0, 1.0, 1.0, 1.0 })]
    [InlineData(LearningRateSchedule.Linear, new[] { 0.5, 1.0, 1.0, 0.75, 0.5, 0.25 })]
    [InlineData(LearningRateSchedule.Cosine, new[] { 0.5, 1.0, 1.0, 0.853553, 0.5, 0.146447 })]
    public void LearningRate_WarmsUpLinearly_ThenFollowsItsSchedule(LearningRateSchedule schedule, double[] expected)
    {
        // Two warmup steps of six; the four after them decay from the peak towards 0, which the step after the last would reach.
        var rate = new LearningRate(1.0, schedule, warmupSteps: 2, totalSteps: 6);
        Assert.Equal(expected, Enumerable.Range(0, 6).Select(s => Math.Round(rate.At(s), 6)));
    }
}
