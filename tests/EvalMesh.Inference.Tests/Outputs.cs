using EvalMesh.Abstractions;

namespace EvalMesh.Inference.Tests;

internal static class Outputs
{
    /// <summary>
    /// The largest top-two logit margin that counts as a genuine near tie. Batched kernels move logits by about 1e-5,
    /// which can only flip a choice whose margin is that small; anything wider is a real difference.
    /// </summary>
    public const float NearTie = 1e-3f;

    /// <summary>
    /// Asserts two greedy outputs are the same token for token, except that they may part ways at a genuine near tie
    /// (both runs' top-two margin under <see cref="NearTie"/> at the first differing token).
    /// </summary>
    public static void AssertSameOrNearTie(InferenceReply expected, InferenceReply actual)
    {
        var common = Math.Min(expected.Tokens.Count, actual.Tokens.Count);
        for (var i = 0; i < common; i++)
        {
            if (expected.Tokens[i] != actual.Tokens[i])
            {
                var margin = Math.Min(expected.Margins[i], actual.Margins[i]);
                Assert.True(margin < NearTie, $"outputs differ at token {i} where the top-two margin is {margin}: not a near tie\n{expected.Text}\n{actual.Text}");
                return;
            }
        }

        Assert.Equal(expected.Tokens, actual.Tokens);
        Assert.Equal(expected.Text, actual.Text);
    }
}
