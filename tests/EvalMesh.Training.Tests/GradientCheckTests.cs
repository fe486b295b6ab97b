using EvalMesh.Training.Model;

namespace EvalMesh.Training.Tests;

/// <summary>
/// The backward pass against central finite differences of the forward pass, in double precision, on a model small
/// enough to perturb every parameter: n_embd 8, 2 heads, n_ff 12, vocabulary 16, 2 blocks, 11 input tokens of which 4
/// predictions are scored (an odd count, so that attention runs both its paired and its single query rows). Every parameter kind is checked: embeddings, norms, q/k/v/o, gate/up/down, output (and the
/// tied embedding), LoRA A and B.
/// </summary>
public sealed class GradientCheckTests
{
    // Central differences in double with h = 1e-5 agree with a right gradient to ~1e-6 relative at worst here (seen:
    // 6e-6 on a gradient of 1e-4); a wrong gradient is off by O(1).
    private const double Step = 1e-5;
    private const double Tolerance = 1e-4;

    private static readonly TokenSequence Sequence = new([1, 7, 3, 12, 5, 9, 9, 0, 14, 2, 11, 6], AnswerStart: 8);

    [Fact]
    public void FullModelGradients_MatchFiniteDifferences()
    {
        var config = ModelConfig.Create(embedding: 8, blocks: 2, heads: 2, feedForward: 12, vocabulary: 16);
        var model = RandomModels.Model<double>(config, seed: 1);
        var worst = CheckModel(new Transformer<double>(model), model, lora: null);
        Assert.All(worst, w => Assert.True(w.Value < Tolerance, $"{w.Key}: relative error {w.Value:E2}"));
        string[] kinds = ["token_embd", "attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down", "output_norm", "output"];
        Assert.Equal(kinds.Order(StringComparer.Ordinal), worst.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void TiedOutputGradients_MatchFiniteDifferences()
    {
        var config = ModelConfig.Create(embedding: 8, blocks: 1, heads: 2, feedForward: 12, vocabulary: 16, tiedOutput: true);
        var model = RandomModels.Model<double>(config, seed: 2);
        var worst = CheckModel(new Transformer<double>(model), model, lora: null);
        Assert.DoesNotContain("output", worst.Keys);
        Assert.All(worst, w => Assert.True(w.Value < Tolerance, $"{w.Key}: relative error {w.Value:E2}"));
    }

    [Fact]
    public void LoraGradients_MatchFiniteDifferences_ForEveryTarget()
    {
        var config = ModelConfig.Create(embedding: 8, blocks: 2, heads: 2, feedForward: 12, vocabulary: 16);
        var model = RandomModels.Model<double>(config, seed: 3);
        var lora = RandomModels.Lora<double>(config, rank: 3, alpha: 5, LoraTargets.All, seed: 4);
        var transformer = new Transformer<double>(model, lora);
        var gradients = LoraWeights<double>.ZerosLike(lora);
        transformer.LossAndGradients(Sequence, Workspace(config, 3), 1.0, null, gradients);

        var worst = new Dictionary<string, double>();
        foreach (var (parameter, gradient) in lora.Tensors().Zip(gradients.Tensors()))
        {
            var kind = Kind(parameter.Name);
            var error = MaxRelativeError(parameter.Values, gradient.Values, () => transformer.Refresh(baseChanged: false), () => transformer.Loss(Sequence, Workspace(config, 3)));
            worst[kind] = Math.Max(worst.GetValueOrDefault(kind), error);
        }

        TestContext.Current.TestOutputHelper?.WriteLine(string.Join(", ", worst.Select(w => $"{w.Key} {w.Value:E1}")));
        Assert.Equal(14, worst.Count);
        Assert.All(worst, w => Assert.True(w.Value < Tolerance, $"{w.Key}: relative error {w.Value:E2}"));
    }

    [Fact]
    public void BaseGradients_WithAnAdapterApplied_MatchFiniteDifferences()
    {
        var config = ModelConfig.Create(embedding: 8, blocks: 1, heads: 2, feedForward: 12, vocabulary: 16);
        var model = RandomModels.Model<double>(config, seed: 5);
        var lora = RandomModels.Lora<double>(config, rank: 2, alpha: 2, [LoraTarget.AttnV, LoraTarget.FfnUp], seed: 6);
        var worst = CheckModel(new Transformer<double>(model, lora), model, lora);
        Assert.All(worst, w => Assert.True(w.Value < Tolerance, $"{w.Key}: relative error {w.Value:E2}"));
    }

    [Fact]
    public void AGradientWithAWrongSign_FailsTheCheck()
    {
        // The check itself can fail: a flipped gradient is far outside the tolerance.
        double[] parameter = [0.3, -0.2];
        double[] flipped = [-2 * 0.3, -2 * -0.2];
        var error = MaxRelativeError(parameter, flipped, () => { }, () => (parameter[0] * parameter[0]) + (parameter[1] * parameter[1]));
        Assert.True(error > 0.5, $"{error}");
    }

    private static Dictionary<string, double> CheckModel(Transformer<double> transformer, ModelWeights<double> model, LoraWeights<double>? lora)
    {
        var config = model.Config;
        var workspace = Workspace(config, lora?.Rank ?? 0);
        var gradients = ModelWeights<double>.Zeros(config);
        transformer.LossAndGradients(Sequence, workspace, 1.0, gradients, null);
        var worst = new Dictionary<string, double>();
        foreach (var (parameter, gradient) in model.Tensors().Zip(gradients.Tensors()))
        {
            var kind = Kind(parameter.Name);
            var error = MaxRelativeError(parameter.Values, gradient.Values, () => transformer.Refresh(), () => transformer.Loss(Sequence, workspace));
            worst[kind] = Math.Max(worst.GetValueOrDefault(kind), error);
        }

        TestContext.Current.TestOutputHelper?.WriteLine(string.Join(", ", worst.Select(w => $"{w.Key} {w.Value:E1}")));
        return worst;
    }

    // Perturbs every value by ±h and compares (L(+h) − L(−h)) / 2h with the analytic gradient. The error of one value
    // is relative to the larger of the two, floored at 1e-6 so that gradients that are zero in both count as equal.
    private static double MaxRelativeError(double[] values, double[] analytic, Action refresh, Func<double> loss)
    {
        var worst = 0.0;
        for (var i = 0; i < values.Length; i++)
        {
            var original = values[i];
            values[i] = original + Step;
            refresh();
            var plus = loss();
            values[i] = original - Step;
            refresh();
            var minus = loss();
            values[i] = original;
            refresh();
            var numeric = (plus - minus) / (2 * Step);
            var error = Math.Abs(numeric - analytic[i]) / Math.Max(1e-6, Math.Max(Math.Abs(numeric), Math.Abs(analytic[i])));
            worst = Math.Max(worst, error);
        }

        return worst;
    }

    private static Workspace<double> Workspace(ModelConfig config, int rank) => new(config, rank, capacity: 12);

    private static string Kind(string name)
    {
        var parts = name.Split('.');
        return parts[0] == "blk" ? (parts.Length == 5 ? $"{parts[2]}.{parts[4]}" : parts[2]) : parts[0];
    }
}
