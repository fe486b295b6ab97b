using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace EvalMesh.Training.Kernels;

/// <summary>
/// Row-major matrix products on <see cref="TensorPrimitives"/>. Every product of the trainer is one of two forms:
/// <see cref="ABt"/> (a dot product of two contiguous rows per element, best when the shared dimension is long) and
/// <see cref="AB"/> (a row of the result as a sum of scaled rows, best when the shared dimension is short and the rows
/// are long). Single-threaded: the trainer runs sequences in parallel instead.
/// </summary>
internal static class MatMul
{
    // Rows of B are visited in blocks that stay in a 32 KiB L1 data cache while every row of A passes over them.
    private const int BlockBytes = 16 * 1024;

    /// <summary>C[m×n] = A[m×k] · B[n×k]ᵀ, or C += that when <paramref name="accumulate"/>.</summary>
    public static void ABt<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c, int m, int n, int k, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (k == 0)
        {
            if (!accumulate)
            {
                c[..(m * n)].Clear();
            }

            return;
        }

        var blockRows = Math.Max(4, BlockBytes / (k * Unsafe.SizeOf<T>()));
        for (var j0 = 0; j0 < n; j0 += blockRows)
        {
            var j1 = Math.Min(n, j0 + blockRows);
            for (var i = 0; i < m; i++)
            {
                var row = a.Slice(i * k, k);
                var target = c.Slice(i * n, n);
                for (var j = j0; j < j1; j++)
                {
                    var dot = TensorPrimitives.Dot(row, b.Slice(j * k, k));
                    target[j] = accumulate ? target[j] + dot : dot;
                }
            }
        }
    }

    /// <summary>C[m×n] = A[m×k] · B[k×n], or C += that when <paramref name="accumulate"/>.</summary>
    public static void AB<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c, int m, int n, int k, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (var i = 0; i < m; i++)
        {
            var target = c.Slice(i * n, n);
            if (!accumulate)
            {
                target.Clear();
            }

            var row = a.Slice(i * k, k);
            for (var p = 0; p < k; p++)
            {
                var scale = row[p];
                if (scale != T.Zero)
                {
                    TensorPrimitives.MultiplyAdd(b.Slice(p * n, n), scale, target, target);
                }
            }
        }
    }

    /// <summary>Aᵀ[cols×rows] from A[rows×cols], in tiles that stay in cache.</summary>
    public static void Transpose<T>(ReadOnlySpan<T> a, int rows, int cols, Span<T> transposed)
        where T : unmanaged
    {
        const int Tile = 32;
        for (var i0 = 0; i0 < rows; i0 += Tile)
        {
            var i1 = Math.Min(rows, i0 + Tile);
            for (var j0 = 0; j0 < cols; j0 += Tile)
            {
                var j1 = Math.Min(cols, j0 + Tile);
                for (var i = i0; i < i1; i++)
                {
                    for (var j = j0; j < j1; j++)
                    {
                        transposed[(j * rows) + i] = a[(i * cols) + j];
                    }
                }
            }
        }
    }
}
