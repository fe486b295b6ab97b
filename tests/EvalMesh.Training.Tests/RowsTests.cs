using EvalMesh.Training.Kernels;

namespace EvalMesh.Training.Tests;

/// <summary>The fused attention row kernels against plain loops, in float, at lengths with vector parts and tails.</summary>
public sealed class RowsTests
{
    private const int Stride = 40;
    private const int Heads = 3;
    private const int First = 2;
    private const int Count = 5;

    [Theory]
    [InlineData(1)]
    [InlineData(8)]
    [InlineData(37)]
    public void Combine_And_Dots_EqualPlainLoops(int length)
    {
        var random = new Random(length);
        var matrix = Values(random, (First + Count) * Stride);
        var (w0, w1) = (Values(random, Count), Values(random, Count));
        var (v0, v1) = (Values(random, length), Values(random, length + 1));

        var (r0, r1, single) = (new float[length], new float[length + 1], new float[length]);
        Rows.Combine2<float>(w0, w1, matrix, Stride, First, r0, r1);
        Rows.Combine<float>(w0, matrix, Stride, First, single);
        Near(Combine(w0, matrix, length), r0);
        Near(Combine(w1, matrix, length + 1), r1);
        Near(Combine(w0, matrix, length), single);

        var (d0, d1, one) = (new float[Count], new float[Count], new float[Count]);
        Rows.Dots2<float>(v0, v1, matrix, Stride, First, d0, d1);
        Rows.Dots<float>(v0, matrix, Stride, First, one);
        Near(Dots(v0, matrix), d0);
        Near(Dots(v1, matrix), d1);
        Near(Dots(v0, matrix), one);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(16)]
    [InlineData(37)]
    public void AddOuter_EqualsPlainLoops(int length)
    {
        var random = new Random(length + 100);
        var (m, n) = (Values(random, (First + Count) * Stride), Values(random, (First + Count) * Stride));
        var (expectedM, expectedN) = ((float[])m.Clone(), (float[])n.Clone());
        var (a0, a1, b0, b1) = (Values(random, Count), Values(random, Count), Values(random, Count), Values(random, Count));
        var (x0, x1, y0, y1) = (Values(random, length), Values(random, length + 1), Values(random, length), Values(random, length + 1));
        Rows.AddOuter2<float>(a0, x0, a1, x1, m, b0, y0, b1, y1, n, Stride, First);
        Rows.AddOuter<float>(a0, x0, m, b0, y0, n, Stride, First);
        foreach (var (a, x) in new[] { (a0, x0), (a1, x1), (a0, x0) })
        {
            Outer(a, x, expectedM);
        }

        foreach (var (b, y) in new[] { (b0, y0), (b1, y1), (b0, y0) })
        {
            Outer(b, y, expectedN);
        }

        Near(expectedM, m);
        Near(expectedN, n);
    }

    [Fact]
    public void RowsOutsideTheMatrix_AreRefused()
    {
        var matrix = new float[(First + Count) * Stride];
        Assert.Throws<ArgumentOutOfRangeException>(() => Rows.Combine<float>(new float[Count + 1], matrix, Stride, First, new float[4]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Rows.Dots<float>(new float[Stride + 1], matrix, Stride, First, new float[Count]));
    }

    private static float[] Combine(float[] weights, float[] matrix, int length) =>
        [.. Enumerable.Range(0, length).Select(j => Enumerable.Range(0, Count).Sum(c => weights[c] * matrix[((First + c) * Stride) + j]))];

    private static float[] Dots(float[] vector, float[] matrix) =>
        [.. Enumerable.Range(0, Count).Select(c => Enumerable.Range(0, vector.Length).Sum(j => vector[j] * matrix[((First + c) * Stride) + j]))];

    private static void Outer(float[] a, float[] x, float[] matrix)
    {
        for (var c = 0; c < Count; c++)
        {
            for (var j = 0; j < x.Length; j++)
            {
                matrix[((First + c) * Stride) + j] += a[c] * x[j];
            }
        }
    }

    private static float[] Values(Random random, int count) => [.. Enumerable.Range(0, count).Select(_ => (float)((2 * random.NextDouble()) - 1))];

    private static void Near(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) < 1e-4, $"[{i}]: {expected[i]} vs {actual[i]}");
        }
    }
}
