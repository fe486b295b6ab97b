using System.Numerics;
using EvalMesh.Training.Kernels;

namespace EvalMesh.Training.Model;

/// <summary>
/// The activations one sequence leaves for its backward pass, and the scratch buffers of both passes, sized for
/// sequences up to <see cref="Capacity"/> tokens. One per thread, reused for every sequence it runs; matrices are
/// stored densely for the current sequence length (n rows of a width).
/// </summary>
internal sealed class Workspace<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private T[] _logits = [];
    private T[] _dLogitsT = [];
    private T[]? _transposedSource;
    private int _transposedRows;

    public Workspace(ModelConfig config, int loraRank, int capacity)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        var (n, d, f, blocks) = (capacity, config.Embedding, config.FeedForward, config.Blocks);
        var r = Math.Max(loraRank, 1);
        var wide = Math.Max(d, f);
        Capacity = capacity;
        Stream = Arrays(blocks + 1, n * d);
        Norm1 = Arrays(blocks, n * d);
        Inverse1 = Arrays(blocks, n);
        Q = Arrays(blocks, n * d);
        KeysT = Arrays(blocks, d * n);
        ValuesT = Arrays(blocks, d * n);
        Probabilities = Arrays(blocks, config.Heads * Attention.TriangleSize(n));
        Attended = Arrays(blocks, n * d);
        Mid = Arrays(blocks, n * d);
        Norm2 = Arrays(blocks, n * d);
        Inverse2 = Arrays(blocks, n);
        Gate = Arrays(blocks, n * f);
        Up = Arrays(blocks, n * f);
        Activation = Arrays(blocks, n * f);
        LoraInput = new T[blocks, LoraTargets.All.Count][];
        if (loraRank > 0)
        {
            for (var b = 0; b < blocks; b++)
            {
                foreach (var target in LoraTargets.All)
                {
                    LoraInput[b, (int)target] = new T[n * r];
                }
            }
        }

        FinalNorm = new T[n * d];
        FinalInverse = new T[n];
        Projected = new T[n * wide];
        Scaled = new T[n * r];
        DStream = new T[n * d];
        DNorm = new T[n * d];
        DQ = new T[n * d];
        DKeys = new T[n * d];
        DValues = new T[n * d];
        DKeysT = new T[d * n];
        DValuesT = new T[d * n];
        DAttended = new T[n * d];
        DActivation = new T[n * f];
        DGate = new T[n * f];
        DUp = new T[n * f];
        Elementwise = new T[n * f];
        InputT = new T[wide * n];
        DOutputT = new T[wide * n];
        LoraInputT = new T[r * n];
        DLoraInput = new T[n * r];
        DLoraInputT = new T[r * n];
        DFactor = new T[wide * r];
        Row = new T[Math.Max(2 * (n + 1), wide)];
    }

    /// <summary>The longest sequence (input tokens) it holds.</summary>
    public int Capacity { get; }

    // Forward activations, per block: the residual stream before each block (and after the last), the normed inputs
    // of attention and FFN with their RMS inverses, roped queries, transposed roped keys and values, attention
    // probabilities, the attention output before attn_output, the stream between attention and FFN, gate, up and
    // SwiGLU activation, and each adapted layer's A x.
    public T[][] Stream { get; }

    public T[][] Norm1 { get; }

    public T[][] Inverse1 { get; }

    public T[][] Q { get; }

    public T[][] KeysT { get; }

    public T[][] ValuesT { get; }

    public T[][] Probabilities { get; }

    public T[][] Attended { get; }

    public T[][] Mid { get; }

    public T[][] Norm2 { get; }

    public T[][] Inverse2 { get; }

    public T[][] Gate { get; }

    public T[][] Up { get; }

    public T[][] Activation { get; }

    public T[,][] LoraInput { get; }

    public T[] FinalNorm { get; }

    public T[] FinalInverse { get; }

    /// <summary>Logits of the rows that are scored (then their gradients): at least <paramref name="rows"/> × vocabulary.</summary>
    public T[] Logits(int rows, int vocabulary) => Grow(ref _logits, rows * vocabulary);

    /// <summary>A transposed gradient of outputs as wide as the vocabulary: at least vocabulary × <paramref name="rows"/>.</summary>
    public T[] DLogitsT(int rows, int vocabulary) => Grow(ref _dLogitsT, rows * vocabulary);

    // Scratch.
    public T[] Projected { get; }

    public T[] Scaled { get; }

    public T[] DStream { get; }

    public T[] DNorm { get; }

    public T[] DQ { get; }

    public T[] DKeys { get; }

    public T[] DValues { get; }

    public T[] DKeysT { get; }

    public T[] DValuesT { get; }

    public T[] DAttended { get; }

    public T[] DActivation { get; }

    public T[] DGate { get; }

    public T[] DUp { get; }

    public T[] Elementwise { get; }

    public T[] InputT { get; }

    public T[] DOutputT { get; }

    public T[] LoraInputT { get; }

    public T[] DLoraInput { get; }

    public T[] DLoraInputT { get; }

    public T[] DFactor { get; }

    public T[] Row { get; }

    /// <summary>
    /// xᵀ of an activation (n rows of <paramref name="width"/>) in <see cref="InputT"/>: the layers that read the same
    /// input (q, k and v; gate and up) transpose it once.
    /// </summary>
    public Span<T> Transposed(T[] source, int rows, int width)
    {
        var transposed = InputT.AsSpan(0, width * rows);
        if (!ReferenceEquals(source, _transposedSource) || rows != _transposedRows)
        {
            MatMul.Transpose<T>(source.AsSpan(0, rows * width), rows, width, transposed);
            (_transposedSource, _transposedRows) = (source, rows);
        }

        return transposed;
    }

    /// <summary>Forgets which activation <see cref="InputT"/> holds (its values change with every forward pass).</summary>
    public void ForgetTransposed() => _transposedSource = null;

    // Scored rows are usually a small part of a sequence (the answer), so these grow to what is asked.
    private static T[] Grow(ref T[] buffer, int length)
    {
        if (buffer.Length < length)
        {
            buffer = new T[length];
        }

        return buffer;
    }

    private static T[][] Arrays(int count, int length)
    {
        var arrays = new T[count][];
        for (var i = 0; i < count; i++)
        {
            arrays[i] = new T[length];
        }

        return arrays;
    }
}
