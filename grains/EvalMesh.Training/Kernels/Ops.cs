using System.Numerics;
using System.Numerics.Tensors;

namespace EvalMesh.Training.Kernels;

/// <summary>The element-wise and row-wise operations of a llama block, forward and backward.</summary>
internal static class Ops
{
    /// <summary>
    /// RMSNorm of each row: y = w ⊙ x · s with s = 1 / sqrt(mean(x²) + eps), as llama.cpp's rms_norm followed by the
    /// multiplication by the norm's weight. Keeps s per row for the backward pass.
    /// </summary>
    public static void RmsNorm<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> weight, Span<T> y, Span<T> inverse, int rows, int width, T epsilon)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var n = T.CreateChecked(width);
        for (var r = 0; r < rows; r++)
        {
            var row = x.Slice(r * width, width);
            var output = y.Slice(r * width, width);
            var s = T.One / T.Sqrt((TensorPrimitives.SumOfSquares(row) / n) + epsilon);
            inverse[r] = s;
            TensorPrimitives.Multiply(row, s, output);
            TensorPrimitives.Multiply(output, weight, output);
        }
    }

    /// <summary>
    /// The backward pass of <see cref="RmsNorm"/> for rows [first, first + rows): adds dL/dx to <paramref name="dx"/> and,
    /// unless <paramref name="dWeight"/> is empty, dL/dw to it. With g = w ⊙ dy: dx = s·g − x·s³·(g·x)/n, dw = Σ dy ⊙ x·s.
    /// </summary>
    public static void RmsNormBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> weight, ReadOnlySpan<T> inverse, ReadOnlySpan<T> dy, Span<T> dx, Span<T> dWeight, int first, int rows, int width, Span<T> scratch)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var n = T.CreateChecked(width);
        var g = scratch[..width];
        for (var r = first; r < first + rows; r++)
        {
            var row = x.Slice(r * width, width);
            var gradient = dy.Slice(r * width, width);
            var target = dx.Slice(r * width, width);
            var s = inverse[r];
            TensorPrimitives.Multiply(weight, gradient, g);
            var along = TensorPrimitives.Dot(g, row) * s * s * s / n;
            TensorPrimitives.MultiplyAdd(g, s, target, target);
            TensorPrimitives.MultiplyAdd(row, -along, target, target);
            if (!dWeight.IsEmpty)
            {
                TensorPrimitives.Multiply(gradient, row, g);
                TensorPrimitives.MultiplyAdd(g, s, dWeight, dWeight);
            }
        }
    }

    /// <summary>SwiGLU: a = silu(g) ⊙ u, silu(g) = g · sigmoid(g).</summary>
    public static void SwiGlu<T>(ReadOnlySpan<T> gate, ReadOnlySpan<T> up, Span<T> activation)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        TensorPrimitives.Sigmoid(gate, activation);
        TensorPrimitives.Multiply(activation, gate, activation);
        TensorPrimitives.Multiply(activation, up, activation);
    }

    /// <summary>
    /// The backward pass of <see cref="SwiGlu"/>: du = da ⊙ silu(g), dg = da ⊙ u ⊙ σ(g)·(1 + g·(1 − σ(g))).
    /// <paramref name="scratch"/> is as long as the inputs.
    /// </summary>
    public static void SwiGluBackward<T>(ReadOnlySpan<T> gate, ReadOnlySpan<T> up, ReadOnlySpan<T> dActivation, Span<T> dGate, Span<T> dUp, Span<T> scratch)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var sigmoid = scratch;
        TensorPrimitives.Sigmoid(gate, sigmoid);

        // du = da ⊙ g ⊙ σ
        TensorPrimitives.Multiply(gate, sigmoid, dUp);
        TensorPrimitives.Multiply(dUp, dActivation, dUp);

        // dg = da ⊙ u ⊙ σ ⊙ (1 + g ⊙ (1 − σ))
        TensorPrimitives.Subtract(T.One, sigmoid, dGate);
        TensorPrimitives.MultiplyAdd(dGate, gate, T.One, dGate);
        TensorPrimitives.Multiply(dGate, sigmoid, dGate);
        TensorPrimitives.Multiply(dGate, up, dGate);
        TensorPrimitives.Multiply(dGate, dActivation, dGate);
    }

    /// <summary>
    /// Cross-entropy of each row of logits against its target token. Returns the summed loss (in double) and turns each
    /// row into its gradient times <paramref name="gradientScale"/>: (softmax − onehot) · scale.
    /// </summary>
    public static double CrossEntropy<T>(Span<T> logits, ReadOnlySpan<int> targets, int vocabulary, T gradientScale)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var loss = 0.0;
        for (var r = 0; r < targets.Length; r++)
        {
            var row = logits.Slice(r * vocabulary, vocabulary);
            var target = targets[r];
            var max = TensorPrimitives.Max(row);
            var correct = row[target];
            TensorPrimitives.Subtract(row, max, row);
            TensorPrimitives.Exp(row, row);
            var sum = TensorPrimitives.Sum(row);
            loss += double.CreateChecked(T.Log(sum) + max - correct);
            TensorPrimitives.Multiply(row, gradientScale / sum, row);
            row[target] -= gradientScale;
        }

        return loss;
    }
}
