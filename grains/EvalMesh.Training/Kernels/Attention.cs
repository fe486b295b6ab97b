using System.Numerics;
using System.Numerics.Tensors;

namespace EvalMesh.Training.Kernels;

/// <summary>
/// Causal multi-head attention over one sequence, forward and backward. Queries are rows (n × width); keys and values
/// are transposed (width × n: row h·headSize + c holds component c of head h for every position), so that a row of
/// scores is a combination of key rows and an output component a dot product with a value row (see <see cref="Rows"/>).
/// Query rows go in pairs, which share every load of keys and values and every update of their gradients. The softmax
/// probabilities of each head are kept as a lower triangle (row i holds positions 0..i) for the backward pass.
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
        Span<T> query0 = stackalloc T[headSize];
        Span<T> query1 = stackalloc T[headSize];
        for (var h = 0; h < heads; h++)
        {
            var head = probabilities.Slice(h * triangle, triangle);
            var first = h * headSize;
            var i = 0;
            for (; i + 1 < n; i += 2)
            {
                var row0 = head.Slice(TriangleSize(i), i + 1);
                var row1 = head.Slice(TriangleSize(i + 1), i + 2);
                TensorPrimitives.Multiply(q.Slice((i * width) + first, headSize), scale, query0);
                TensorPrimitives.Multiply(q.Slice(((i + 1) * width) + first, headSize), scale, query1);
                Rows.Combine2<T>(query0, query1, keysT, n, first, row0, row1);
                Softmax(row0);
                Softmax(row1);
                Rows.Dots2<T>(row0, row1, valuesT, n, first, o.Slice((i * width) + first, headSize), o.Slice(((i + 1) * width) + first, headSize));
            }

            if (i < n)
            {
                var row = head.Slice(TriangleSize(i), i + 1);
                TensorPrimitives.Multiply(q.Slice((i * width) + first, headSize), scale, query0);
                Rows.Combine<T>(query0, keysT, n, first, row);
                Softmax(row);
                Rows.Dots<T>(row, valuesT, n, first, o.Slice((i * width) + first, headSize));
            }
        }
    }

    /// <summary>
    /// Gradients of q, k and v from the gradient of o: with p a row of probabilities and dp = do · vᵀ,
    /// ds = p ⊙ (dp − p·dp) · scale, dq = ds k, dk += dsᵀ q, dv += pᵀ do. Writes <paramref name="dq"/> (rows) and
    /// <paramref name="dKeysT"/>, <paramref name="dValuesT"/> (transposed, overwritten). <paramref name="scratch"/>
    /// holds two rows of n + 1.
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
            var first = h * headSize;
            var i = 0;
            for (; i + 1 < n; i += 2)
            {
                var p0 = head.Slice(TriangleSize(i), i + 1);
                var p1 = head.Slice(TriangleSize(i + 1), i + 2);
                var g0 = dO.Slice((i * width) + first, headSize);
                var g1 = dO.Slice(((i + 1) * width) + first, headSize);
                var ds0 = scratch[..(i + 1)];
                var ds1 = scratch.Slice(n + 1, i + 2);
                Rows.Combine2(g0, g1, valuesT, n, first, ds0, ds1);
                SoftmaxBackward<T>(p0, ds0, scale);
                SoftmaxBackward<T>(p1, ds1, scale);
                Rows.Dots2<T>(ds0, ds1, keysT, n, first, dq.Slice((i * width) + first, headSize), dq.Slice(((i + 1) * width) + first, headSize));
                Rows.AddOuter2<T>(g0, p0, g1, p1, dValuesT, q.Slice((i * width) + first, headSize), ds0, q.Slice(((i + 1) * width) + first, headSize), ds1, dKeysT, n, first);
            }

            if (i < n)
            {
                var p = head.Slice(TriangleSize(i), i + 1);
                var gradient = dO.Slice((i * width) + first, headSize);
                var ds = scratch[..(i + 1)];
                Rows.Combine(gradient, valuesT, n, first, ds);
                SoftmaxBackward<T>(p, ds, scale);
                Rows.Dots<T>(ds, keysT, n, first, dq.Slice((i * width) + first, headSize));
                Rows.AddOuter<T>(gradient, p, dValuesT, q.Slice((i * width) + first, headSize), ds, dKeysT, n, first);
            }
        }
    }

    private static void Softmax<T>(Span<T> row)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        TensorPrimitives.Subtract(row, TensorPrimitives.Max<T>(row), row);
        TensorPrimitives.Exp<T>(row, row);
        TensorPrimitives.Multiply(row, T.One / TensorPrimitives.Sum<T>(row), row);
    }

    // dp (in ds) becomes ds = p ⊙ (dp − p·dp) · scale.
    private static void SoftmaxBackward<T>(ReadOnlySpan<T> p, Span<T> ds, T scale)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        TensorPrimitives.Subtract(ds, TensorPrimitives.Dot(p, ds), ds);
        TensorPrimitives.Multiply(ds, p, ds);
        TensorPrimitives.Multiply(ds, scale, ds);
    }
}
