using EvalMesh.Training.Data;
using EvalMesh.Training.Model;

namespace EvalMesh.Training.Tests;

/// <summary>
/// The trainer's forward pass against llama.cpp on the generated tiny model (n_embd 64, 2 blocks, 4 heads, n_ff 128,
/// vocabulary 4096): the same GGUF, the same tokens, logits at every position.
/// </summary>
public sealed class LlamaCppParityTests(TinyModelFixture tiny)
{
    // Logits of the tiny model reach about ±20. Measured over 284 tokens: max |Δ| 5e-6 without an adapter, 2e-5 with
    // one (single-precision sums in different orders); a wrong rotation, scale or layout is off by O(1).
    private const double Tolerance = 2e-4;

    private static readonly string Text =
        "Records:\ntype,ts,user,text\nmessage,1759281552.660739,U04XYZ8ABCD,BigQuery costs went up 30% last month\n" +
        "message,1759281600.000100,U089VWX0YZA,can we move the nightly export to the cheaper slot?\n" +
        "Question: who mentioned BigQuery first, and which channel was it in?\nAnswer:";

    [Fact]
    public void Logits_EqualLlamaCpp_AtEveryPosition()
    {
        var plain = Compare(adapter: null);
        Assert.True(plain.MaxAbs < Tolerance, $"max |Δlogit| {plain.MaxAbs:E2} (logits up to {plain.Scale:F1})");
        Assert.True(plain.Tokens > 256, $"{plain.Tokens} tokens");
    }

    [Fact]
    public void Logits_WithAnAdapter_EqualLlamaCppWithThatAdapter()
    {
        var withAdapter = Compare(tiny.Files.Adapters[0]);
        Assert.True(withAdapter.MaxAbs < Tolerance, $"max |Δlogit| {withAdapter.MaxAbs:E2} (logits up to {withAdapter.Scale:F1})");
        Assert.True(withAdapter.AdapterEffect > 100 * Tolerance, $"the adapter changes logits by only {withAdapter.AdapterEffect:E2}");
    }

    private Comparison Compare(string? adapter)
    {
        var model = BaseModel.Load(tiny.Model);
        int[] tokens;
        using (var vocabulary = ModelVocabulary.Load(tiny.Model))
        {
            tokens = vocabulary.Tokenize(string.Concat(Enumerable.Repeat(Text, 3)), addBos: true);
        }

        var lora = adapter is null ? null : AdapterFile.Read(adapter, model);
        var transformer = new Transformer<float>(model.Weights, lora);
        var ours = transformer.Logits(tokens, new Workspace<float>(model.Config, lora?.Rank ?? 0, tokens.Length));
        using var llama = new LlamaCpp(tiny.Model);
        var theirs = llama.Logits(tokens, adapter);
        var plain = adapter is null ? theirs : llama.Logits(tokens);
        var v = model.Config.Vocabulary;
        double maxAbs = 0, scale = 0, effect = 0;
        for (var t = 0; t < tokens.Length; t++)
        {
            for (var i = 0; i < v; i++)
            {
                maxAbs = Math.Max(maxAbs, Math.Abs(ours[(t * v) + i] - theirs[t][i]));
                scale = Math.Max(scale, Math.Abs(theirs[t][i]));
                effect = Math.Max(effect, Math.Abs(plain[t][i] - theirs[t][i]));
            }
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"{tokens.Length} tokens, max |Δlogit| {maxAbs:E2}, max |logit| {scale:F2}, adapter effect {effect:F2}");
        return new Comparison(maxAbs, scale, effect, tokens.Length);
    }

    private sealed record Comparison(double MaxAbs, double Scale, double AdapterEffect, int Tokens);
}
