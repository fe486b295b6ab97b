using System.Numerics;

namespace EvalMesh.Training.Kernels;

/// <summary>
/// Rotary position embedding of the llama architecture (llama.cpp's rope type NORM): in every head, the adjacent pair
/// (x[2i], x[2i+1]) is rotated by the angle p · base^(−2i/d) at position p. The angles are computed as llama.cpp's CPU
/// backend computes them (in single precision, each pair's angle the previous one's times base^(−2/d)), so that logits
/// agree closely at long positions too.
/// </summary>
internal sealed class RopeTable<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int _headSize;
    private readonly float _base;
    private readonly Lock _gate = new();

    // Replaced whole when it grows, so that threads sharing the table always read a consistent one.
    private Angles _angles = new([], [], 0);

    public RopeTable(int headSize, float freqBase)
    {
        if (headSize % 2 != 0)
        {
            throw new ArgumentException($"the head size {headSize} is odd", nameof(headSize));
        }

        _headSize = headSize;
        _base = freqBase;
    }

    /// <summary>Makes sure positions [0, <paramref name="positions"/>) are in the table.</summary>
    public void Ensure(int positions) => AnglesFor(positions);

    private Angles AnglesFor(int positions)
    {
        var angles = Volatile.Read(ref _angles);
        if (positions <= angles.Positions)
        {
            return angles;
        }

        lock (_gate)
        {
            if (positions <= _angles.Positions)
            {
                return _angles;
            }

            positions = Math.Max(positions, 2 * _angles.Positions);
            var computed = Compute(positions);
            Volatile.Write(ref _angles, computed);
            return computed;
        }
    }

    private Angles Compute(int positions)
    {
        var half = _headSize / 2;
        var cos = new T[positions * half];
        var sin = new T[positions * half];
        var step = MathF.Pow(_base, -2.0f / _headSize);
        for (var p = 0; p < positions; p++)
        {
            var theta = (float)p;
            for (var i = 0; i < half; i++)
            {
                cos[(p * half) + i] = T.CreateChecked(MathF.Cos(theta));
                sin[(p * half) + i] = T.CreateChecked(MathF.Sin(theta));
                theta *= step;
            }
        }

        return new Angles(cos, sin, positions);
    }

    /// <summary>Rotates every head of rows [0, <paramref name="rows"/>) in place; row p is at position p.</summary>
    public void Rotate(Span<T> x, int rows, int width) => Apply(x, rows, width, T.One);

    /// <summary>The backward pass of <see cref="Rotate"/>: rotates gradients back by the same angles.</summary>
    public void RotateBack(Span<T> x, int rows, int width) => Apply(x, rows, width, -T.One);

    private void Apply(Span<T> x, int rows, int width, T direction)
    {
        var angles = AnglesFor(rows);
        var half = _headSize / 2;
        for (var p = 0; p < rows; p++)
        {
            var cos = angles.Cos.AsSpan(p * half, half);
            var sin = angles.Sin.AsSpan(p * half, half);
            var row = x.Slice(p * width, width);
            for (var h = 0; h < width; h += _headSize)
            {
                var head = row.Slice(h, _headSize);
                for (var i = 0; i < half; i++)
                {
                    var (x0, x1) = (head[2 * i], head[(2 * i) + 1]);
                    var s = direction * sin[i];
                    head[2 * i] = (x0 * cos[i]) - (x1 * s);
                    head[(2 * i) + 1] = (x0 * s) + (x1 * cos[i]);
                }
            }
        }
    }

    private sealed record Angles(T[] Cos, T[] Sin, int Positions);
}
