using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace EvalMesh.Training.Kernels;

/// <summary>
/// Fused row kernels for attention, where one head's vectors are short (a head size of 16) and the positions long:
/// combinations and dot products of a few rows of a matrix (stride <c>stride</c>, rows <c>first</c>..) over their
/// leading <c>length</c> values, in one pass with the accumulators in registers, instead of one
/// <see cref="System.Numerics.Tensors.TensorPrimitives"/> pass per row. Callers guarantee the rows are in range.
/// </summary>
internal static class Rows
{
    /// <summary>result[j] = Σ_c weights[c] · M[first + c][j] for j &lt; result.Length.</summary>
    public static void Combine<T>(ReadOnlySpan<T> weights, ReadOnlySpan<T> matrix, int stride, int first, Span<T> result)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(matrix, stride, first, weights.Length, result.Length);
        ref var m = ref MemoryMarshal.GetReference(matrix);
        ref var r = ref MemoryMarshal.GetReference(result);
        var (length, rows) = (result.Length, weights.Length);
        var j = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; j <= length - Vector<T>.Count; j += Vector<T>.Count)
            {
                var sum = Vector<T>.Zero;
                for (var c = 0; c < rows; c++)
                {
                    sum = MultiplyAdd(new Vector<T>(weights[c]), Vector.LoadUnsafe(ref m, (nuint)(((first + c) * stride) + j)), sum);
                }

                sum.StoreUnsafe(ref r, (nuint)j);
            }
        }

        for (; j < length; j++)
        {
            var sum = T.Zero;
            for (var c = 0; c < rows; c++)
            {
                sum += weights[c] * Unsafe.Add(ref m, ((first + c) * stride) + j);
            }

            Unsafe.Add(ref r, j) = sum;
        }
    }

    /// <summary>result[c] = Σ_j vector[j] · M[first + c][j] over j &lt; vector.Length, for c &lt; result.Length.</summary>
    public static void Dots<T>(ReadOnlySpan<T> vector, ReadOnlySpan<T> matrix, int stride, int first, Span<T> result)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(matrix, stride, first, result.Length, vector.Length);
        ref var m = ref MemoryMarshal.GetReference(matrix);
        ref var v = ref MemoryMarshal.GetReference(vector);
        var (length, rows) = (vector.Length, result.Length);
        var c = 0;
        for (; c + 4 <= rows; c += 4)
        {
            var (o0, o1, o2, o3) = ((first + c) * stride, (first + c + 1) * stride, (first + c + 2) * stride, (first + c + 3) * stride);
            var (s0, s1, s2, s3) = (Vector<T>.Zero, Vector<T>.Zero, Vector<T>.Zero, Vector<T>.Zero);
            var j = 0;
            if (Vector.IsHardwareAccelerated)
            {
                for (; j <= length - Vector<T>.Count; j += Vector<T>.Count)
                {
                    var x = Vector.LoadUnsafe(ref v, (nuint)j);
                    s0 = MultiplyAdd(x, Vector.LoadUnsafe(ref m, (nuint)(o0 + j)), s0);
                    s1 = MultiplyAdd(x, Vector.LoadUnsafe(ref m, (nuint)(o1 + j)), s1);
                    s2 = MultiplyAdd(x, Vector.LoadUnsafe(ref m, (nuint)(o2 + j)), s2);
                    s3 = MultiplyAdd(x, Vector.LoadUnsafe(ref m, (nuint)(o3 + j)), s3);
                }
            }

            var (t0, t1, t2, t3) = (Vector.Sum(s0), Vector.Sum(s1), Vector.Sum(s2), Vector.Sum(s3));
            for (; j < length; j++)
            {
                var x = Unsafe.Add(ref v, j);
                t0 += x * Unsafe.Add(ref m, o0 + j);
                t1 += x * Unsafe.Add(ref m, o1 + j);
                t2 += x * Unsafe.Add(ref m, o2 + j);
                t3 += x * Unsafe.Add(ref m, o3 + j);
            }

            (result[c], result[c + 1], result[c + 2], result[c + 3]) = (t0, t1, t2, t3);
        }

        for (; c < rows; c++)
        {
            result[c] = System.Numerics.Tensors.TensorPrimitives.Dot(vector, matrix.Slice((first + c) * stride, length));
        }
    }

    /// <summary>
    /// M[first + c][j] += a[c] · x[j] and N[first + c][j] += b[c] · y[j] for j &lt; x.Length: two rank-1 updates of the
    /// leading values of a few rows, sharing one pass over x and y.
    /// </summary>
    public static void AddOuter<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> x, Span<T> m, ReadOnlySpan<T> b, ReadOnlySpan<T> y, Span<T> n, int stride, int first)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(m, stride, first, a.Length, x.Length);
        Check(n, stride, first, b.Length, y.Length);
        if (a.Length != b.Length || x.Length != y.Length)
        {
            throw new ArgumentException("the two updates must have the same shape");
        }

        ref var mr = ref MemoryMarshal.GetReference(m);
        ref var nr = ref MemoryMarshal.GetReference(n);
        ref var xr = ref MemoryMarshal.GetReference(x);
        ref var yr = ref MemoryMarshal.GetReference(y);
        var (length, rows) = (x.Length, a.Length);
        var j = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; j <= length - Vector<T>.Count; j += Vector<T>.Count)
            {
                var (xv, yv) = (Vector.LoadUnsafe(ref xr, (nuint)j), Vector.LoadUnsafe(ref yr, (nuint)j));
                for (var c = 0; c < rows; c++)
                {
                    var offset = (nuint)(((first + c) * stride) + j);
                    MultiplyAdd(new Vector<T>(a[c]), xv, Vector.LoadUnsafe(ref mr, offset)).StoreUnsafe(ref mr, offset);
                    MultiplyAdd(new Vector<T>(b[c]), yv, Vector.LoadUnsafe(ref nr, offset)).StoreUnsafe(ref nr, offset);
                }
            }
        }

        for (; j < length; j++)
        {
            for (var c = 0; c < rows; c++)
            {
                var offset = ((first + c) * stride) + j;
                Unsafe.Add(ref mr, offset) += a[c] * Unsafe.Add(ref xr, j);
                Unsafe.Add(ref nr, offset) += b[c] * Unsafe.Add(ref yr, j);
            }
        }
    }

    /// <summary>
    /// <see cref="Combine"/> for two weight vectors at once, sharing the loads of M: result0 over its length L, result1
    /// over L + 1 (the next causal row).
    /// </summary>
    public static void Combine2<T>(ReadOnlySpan<T> weights0, ReadOnlySpan<T> weights1, ReadOnlySpan<T> matrix, int stride, int first, Span<T> result0, Span<T> result1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (length, rows) = (result0.Length, weights0.Length);
        if (result1.Length != length + 1 || weights1.Length != rows)
        {
            throw new ArgumentException("the second row must be one longer than the first, with as many weights");
        }

        Check(matrix, stride, first, rows, length + 1);
        ref var m = ref MemoryMarshal.GetReference(matrix);
        ref var r0 = ref MemoryMarshal.GetReference(result0);
        ref var r1 = ref MemoryMarshal.GetReference(result1);
        var j = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; j <= length - Vector<T>.Count; j += Vector<T>.Count)
            {
                var (sum0, sum1) = (Vector<T>.Zero, Vector<T>.Zero);
                for (var c = 0; c < rows; c++)
                {
                    var row = Vector.LoadUnsafe(ref m, (nuint)(((first + c) * stride) + j));
                    sum0 = MultiplyAdd(new Vector<T>(weights0[c]), row, sum0);
                    sum1 = MultiplyAdd(new Vector<T>(weights1[c]), row, sum1);
                }

                sum0.StoreUnsafe(ref r0, (nuint)j);
                sum1.StoreUnsafe(ref r1, (nuint)j);
            }
        }

        for (; j <= length; j++)
        {
            var (sum0, sum1) = (T.Zero, T.Zero);
            for (var c = 0; c < rows; c++)
            {
                var value = Unsafe.Add(ref m, ((first + c) * stride) + j);
                sum0 += weights0[c] * value;
                sum1 += weights1[c] * value;
            }

            if (j < length)
            {
                Unsafe.Add(ref r0, j) = sum0;
            }

            Unsafe.Add(ref r1, j) = sum1;
        }
    }

    /// <summary>
    /// <see cref="Dots"/> for two vectors at once, sharing the loads of M: vector0 of length L, vector1 of L + 1.
    /// </summary>
    public static void Dots2<T>(ReadOnlySpan<T> vector0, ReadOnlySpan<T> vector1, ReadOnlySpan<T> matrix, int stride, int first, Span<T> result0, Span<T> result1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (length, rows) = (vector0.Length, result0.Length);
        if (vector1.Length != length + 1 || result1.Length != rows)
        {
            throw new ArgumentException("the second vector must be one longer than the first, with as many results");
        }

        Check(matrix, stride, first, rows, length + 1);
        ref var m = ref MemoryMarshal.GetReference(matrix);
        ref var v0 = ref MemoryMarshal.GetReference(vector0);
        ref var v1 = ref MemoryMarshal.GetReference(vector1);
        var c = 0;
        for (; c + 2 <= rows; c += 2)
        {
            var (o0, o1) = ((first + c) * stride, (first + c + 1) * stride);
            var (s00, s01, s10, s11) = (Vector<T>.Zero, Vector<T>.Zero, Vector<T>.Zero, Vector<T>.Zero);
            var j = 0;
            if (Vector.IsHardwareAccelerated)
            {
                for (; j <= length - Vector<T>.Count; j += Vector<T>.Count)
                {
                    var (x0, x1) = (Vector.LoadUnsafe(ref v0, (nuint)j), Vector.LoadUnsafe(ref v1, (nuint)j));
                    var (m0, m1) = (Vector.LoadUnsafe(ref m, (nuint)(o0 + j)), Vector.LoadUnsafe(ref m, (nuint)(o1 + j)));
                    s00 = MultiplyAdd(x0, m0, s00);
                    s01 = MultiplyAdd(x0, m1, s01);
                    s10 = MultiplyAdd(x1, m0, s10);
                    s11 = MultiplyAdd(x1, m1, s11);
                }
            }

            var (t00, t01, t10, t11) = (Vector.Sum(s00), Vector.Sum(s01), Vector.Sum(s10), Vector.Sum(s11));
            for (; j <= length; j++)
            {
                var (m0, m1) = (Unsafe.Add(ref m, o0 + j), Unsafe.Add(ref m, o1 + j));
                if (j < length)
                {
                    var x0 = Unsafe.Add(ref v0, j);
                    t00 += x0 * m0;
                    t01 += x0 * m1;
                }

                var x1 = Unsafe.Add(ref v1, j);
                t10 += x1 * m0;
                t11 += x1 * m1;
            }

            (result0[c], result0[c + 1], result1[c], result1[c + 1]) = (t00, t01, t10, t11);
        }

        for (; c < rows; c++)
        {
            result0[c] = System.Numerics.Tensors.TensorPrimitives.Dot(vector0, matrix.Slice((first + c) * stride, length));
            result1[c] = System.Numerics.Tensors.TensorPrimitives.Dot(vector1, matrix.Slice((first + c) * stride, length + 1));
        }
    }

    /// <summary>
    /// <see cref="AddOuter"/> for two consecutive causal rows at once: M[c][j] += a0[c]·x0[j] + a1[c]·x1[j] and
    /// N[c][j] += b0[c]·y0[j] + b1[c]·y1[j], where x0, y0 have length L and x1, y1 length L + 1; each value of M and N
    /// is read and written once for both rows.
    /// </summary>
    public static void AddOuter2<T>(ReadOnlySpan<T> a0, ReadOnlySpan<T> x0, ReadOnlySpan<T> a1, ReadOnlySpan<T> x1, Span<T> m, ReadOnlySpan<T> b0, ReadOnlySpan<T> y0, ReadOnlySpan<T> b1, ReadOnlySpan<T> y1, Span<T> n, int stride, int first)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (length, rows) = (x0.Length, a0.Length);
        if (x1.Length != length + 1 || y0.Length != length || y1.Length != length + 1 || a1.Length != rows || b0.Length != rows || b1.Length != rows)
        {
            throw new ArgumentException("the second row must be one longer than the first, and both updates of one shape");
        }

        Check(m, stride, first, rows, length + 1);
        Check(n, stride, first, rows, length + 1);
        ref var mr = ref MemoryMarshal.GetReference(m);
        ref var nr = ref MemoryMarshal.GetReference(n);
        ref var x0r = ref MemoryMarshal.GetReference(x0);
        ref var x1r = ref MemoryMarshal.GetReference(x1);
        ref var y0r = ref MemoryMarshal.GetReference(y0);
        ref var y1r = ref MemoryMarshal.GetReference(y1);
        var j = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; j <= length - Vector<T>.Count; j += Vector<T>.Count)
            {
                var (x0v, x1v) = (Vector.LoadUnsafe(ref x0r, (nuint)j), Vector.LoadUnsafe(ref x1r, (nuint)j));
                var (y0v, y1v) = (Vector.LoadUnsafe(ref y0r, (nuint)j), Vector.LoadUnsafe(ref y1r, (nuint)j));
                for (var c = 0; c < rows; c++)
                {
                    var offset = (nuint)(((first + c) * stride) + j);
                    var mv = MultiplyAdd(new Vector<T>(a0[c]), x0v, Vector.LoadUnsafe(ref mr, offset));
                    MultiplyAdd(new Vector<T>(a1[c]), x1v, mv).StoreUnsafe(ref mr, offset);
                    var nv = MultiplyAdd(new Vector<T>(b0[c]), y0v, Vector.LoadUnsafe(ref nr, offset));
                    MultiplyAdd(new Vector<T>(b1[c]), y1v, nv).StoreUnsafe(ref nr, offset);
                }
            }
        }

        for (; j <= length; j++)
        {
            for (var c = 0; c < rows; c++)
            {
                var offset = ((first + c) * stride) + j;
                if (j < length)
                {
                    Unsafe.Add(ref mr, offset) += a0[c] * Unsafe.Add(ref x0r, j);
                    Unsafe.Add(ref nr, offset) += b0[c] * Unsafe.Add(ref y0r, j);
                }

                Unsafe.Add(ref mr, offset) += a1[c] * Unsafe.Add(ref x1r, j);
                Unsafe.Add(ref nr, offset) += b1[c] * Unsafe.Add(ref y1r, j);
            }
        }
    }

    // a · b + c, fused for float and double (the JIT folds the type tests away).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<T> MultiplyAdd<T>(Vector<T> a, Vector<T> b, Vector<T> c)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float))
        {
            return Vector.FusedMultiplyAdd(a.As<T, float>(), b.As<T, float>(), c.As<T, float>()).As<float, T>();
        }

        if (typeof(T) == typeof(double))
        {
            return Vector.FusedMultiplyAdd(a.As<T, double>(), b.As<T, double>(), c.As<T, double>()).As<double, T>();
        }

        return (a * b) + c;
    }

    private static void Check<T>(ReadOnlySpan<T> matrix, int stride, int first, int rows, int length)
    {
        if (length > stride || first < 0 || (long)(first + rows) * stride > matrix.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(matrix), $"rows {first}..{first + rows} of {length} values at stride {stride} are outside {matrix.Length} values");
        }
    }
}
