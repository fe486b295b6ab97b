using System.Numerics;
using EvalMesh.Training.Model;

namespace EvalMesh.Training.Tests;

/// <summary>Small models with seeded random weights, built in memory for checks that need no file.</summary>
internal static class RandomModels
{
    public static ModelWeights<T> Model<T>(ModelConfig config, int seed)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var model = ModelWeights<T>.Zeros(config);
        var random = new Random(seed);
        foreach (var tensor in model.Tensors())
        {
            // Norm weights around 1, matrices scaled by their input size, embeddings around 1: activations stay O(1).
            var (center, spread) = tensor.IsMatrix ? (0.0, 1.5 / Math.Sqrt(tensor.Dimensions[0])) : (1.0, 0.3);
            if (tensor.Name == "token_embd.weight")
            {
                spread = 1.0;
            }

            Fill(tensor.Values, random, center, spread);
        }

        return model;
    }

    /// <summary>LoRA factors with both A and B random, so that every factor has a gradient.</summary>
    public static LoraWeights<T> Lora<T>(ModelConfig config, int rank, float alpha, IReadOnlyList<LoraTarget> targets, int seed)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var lora = LoraWeights<T>.Zeros(config, rank, alpha, targets);
        var random = new Random(seed);
        foreach (var tensor in lora.Tensors())
        {
            Fill(tensor.Values, random, 0, 0.5);
        }

        return lora;
    }

    private static void Fill<T>(T[] values, Random random, double center, double spread)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = T.CreateChecked(center + (spread * ((2 * random.NextDouble()) - 1)));
        }
    }
}
