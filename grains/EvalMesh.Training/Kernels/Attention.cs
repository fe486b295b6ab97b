using System.Numerics;
using System.Numerics.Tensors;

namespace EvalMesh.Training.Kernels;

/// <summary>
/// Causal multi-head attention over one sequence, forward and backward. Queries are rows (n × width); keys and values
/// are transposed (width × n: row h·headSize + c holds component c of head h for every position), so that a row of
/// scores is a sum of scaled key rows and an output component is one dot product. The softmax probabilities of each
/// head are kept as a lower triangle (row i holds positions 0..i) for the backward pass.
/// </summary>
internal static class Attention
{
    /// <summary>The number of values the probabilities of one head take for <paramref name="n"/> positions.</summary>
    public static int TriangleSize(int n) => n * (n + 1) / 2;

    /// <summary>o = softmax(scale · q kᵀ, causal) v for every head.</summary>
    public static void Forward<T>(ReadOnlySpan<T> q, ReadOnlySpan<T> keysT, ReadOnlySpan<T> valuesT, Span<T> probabilities, Span<T> o, int n, int heads, int headSize, T scale)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var width = heads * headSize;
        var triangle = TriangleSize(n);
        for (var h = 0; h < heads; h++)
        {
            var head = probabilities.Slice(h * triangle, triangle);
            for (var i = 0; i < n; i++)
            {
                var row = head.Slice(TriangleSize(i), i + 1);
                row.Clear();
                for (var c = 0; c < headSize; c++)
                {
                    var component = (h * headSize) + c;
                    TensorPrimitives.MultiplyAdd(keysT.Slice(component * n, i + 1), q[(i * width) + component], row, row);
                }

                TensorPrimitives.Multiply(row, scale, row);
                TensorPrimitives.Subtract(row, TensorPrimitives.Max(row), row);
                TensorPrimitives.Exp(row, row);
                TensorPrimitives.Multiply(row, T.One / TensorPrimitives.Sum(row), row);
                for (var c = 0; c < headSize; c++)
                {
                    var component = (h * headSize) + c;
                    o[(i * width) + component] = TensorPrimitives.Dot(row, valuesT.Slice(component * n, i + 1));
                }
            }
        }
    }

    /// <summary>
    /// Gradients of q, k and v from the gradient of o: with p a row of probabilities and dp = do · vᵀ,
    /// ds = p ⊙ (dp − p·dp) · scale, dq = ds k, dk += dsᵀ q, dv += pᵀ do. Writes <paramref name="dq"/> (rows) and
    /// <paramref name="dKeysT"/>, <paramref name="dValuesT"/> (transposed, overwritten).
    /// </summary>
    public static void Backward<T>(
        ReadOnlySpan<T> q,
        ReadOnlySpan<T> keysT,
        ReadOnlySpan<T> valuesT,
        ReadOnlySpan<T> probabilities,
        ReadOnlySpan<T> dO,
        Span<T> dq,
        Span<T> dKeysT,
        Span<T> dValuesT,
        int n,
        int heads,
        int headSize,
        T scale,
        Span<T> scratch)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var width = heads * headSize;
        var triangle = TriangleSize(n);
        dKeysT[..(width * n)].Clear();
        dValuesT[..(width * n)].Clear();
        for (var h = 0; h < heads; h++)
        {
            var head = probabilities.Slice(h * triangle, triangle);
            for (var i = 0; i < n; i++)
            {
                var p = head.Slice(TriangleSize(i), i + 1);
                var ds = scratch[..(i + 1)];
                ds.Clear();
                for (var c = 0; c < headSize; c++)
                {
                    var component = (h * headSize) + c;
                    var g = dO[(i * width) + component];
                    TensorPrimitives.MultiplyAdd(valuesT.Slice(component * n, i + 1), g, ds, ds);
                    var dv = dValuesT.Slice(component * n, i + 1);
                    TensorPrimitives.MultiplyAdd(p, g, dv, dv);
                }

                TensorPrimitives.Subtract(ds, TensorPrimitives.Dot(p, ds), ds);
                TensorPrimitives.Multiply(ds, p, ds);
                TensorPrimitives.Multiply(ds, scale, ds);
                for (var c = 0; c < headSize; c++)
                {
                    var component = (h * headSize) + c;
                    dq[(i * width) + component] = TensorPrimitives.Dot(ds, keysT.Slice(component * n, i + 1));
                    var dk = dKeysT.Slice(component * n, i + 1);
                    TensorPrimitives.MultiplyAdd(ds, q[(i * width) + component], dk, dk);
                }
            }
        }
    }
}
