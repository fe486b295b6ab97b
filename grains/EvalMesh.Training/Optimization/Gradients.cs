using System.Numerics;
using System.Numerics.Tensors;
using EvalMesh.Training.Model;

namespace EvalMesh.Training.Optimization;

/// <summary>Operations on a whole set of gradient tensors.</summary>
internal static class Gradients
{
    /// <summary>The global L2 norm over every tensor.</summary>
    public static double Norm<T>(IReadOnlyList<NamedTensor<T>> gradients)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(gradients);
        var sum = 0.0;
        foreach (var gradient in gradients)
        {
            sum += double.CreateChecked(TensorPrimitives.SumOfSquares<T>(gradient.Values));
        }

        return Math.Sqrt(sum);
    }

    /// <summary>
    /// Scales every gradient by max/norm when the global norm is above <paramref name="maxNorm"/> (0 or less: never),
    /// as torch.nn.utils.clip_grad_norm_ does. Returns the norm before clipping.
    /// </summary>
    public static double ClipByGlobalNorm<T>(IReadOnlyList<NamedTensor<T>> gradients, double maxNorm)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var norm = Norm(gradients);
        if (maxNorm > 0 && norm > maxNorm)
        {
            var scale = T.CreateChecked(maxNorm / (norm + 1e-6));
            foreach (var gradient in gradients)
            {
                TensorPrimitives.Multiply<T>(gradient.Values, scale, gradient.Values);
            }
        }

        return norm;
    }

    /// <summary>Adds each tensor of <paramref name="source"/> to the matching one of <paramref name="target"/>.</summary>
    public static void AddTo<T>(IReadOnlyList<NamedTensor<T>> source, IReadOnlyList<NamedTensor<T>> target)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(target);
        for (var i = 0; i < source.Count; i++)
        {
            TensorPrimitives.Add<T>(target[i].Values, source[i].Values, target[i].Values);
        }
    }

    /// <summary>Sets every tensor to zero.</summary>
    public static void Clear<T>(IReadOnlyList<NamedTensor<T>> gradients)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(gradients);
        foreach (var gradient in gradients)
        {
            Array.Clear(gradient.Values);
        }
    }
}
