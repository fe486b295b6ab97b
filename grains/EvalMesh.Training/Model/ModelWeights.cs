using System.Numerics;

namespace EvalMesh.Training.Model;

/// <summary>
/// The weights of a llama model (or, with the same shapes, their gradients). Matrices are row-major as GGUF stores
/// them: a weight of ne=[n_in, n_out] is n_out rows of n_in values, so y = W x is one dot product per row.
/// </summary>
internal sealed class ModelWeights<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private ModelWeights(ModelConfig config, T[] tokenEmbedding, BlockWeights<T>[] blocks, T[] outputNorm, T[]? output)
    {
        Config = config;
        TokenEmbedding = tokenEmbedding;
        Blocks = blocks;
        OutputNorm = outputNorm;
        Output = output;
    }

    public ModelConfig Config { get; }

    /// <summary>token_embd.weight: n_vocab rows of n_embd.</summary>
    public T[] TokenEmbedding { get; }

    public BlockWeights<T>[] Blocks { get; }

    /// <summary>output_norm.weight: n_embd.</summary>
    public T[] OutputNorm { get; }

    /// <summary>output.weight: n_vocab rows of n_embd, or null when tied to <see cref="TokenEmbedding"/>.</summary>
    public T[]? Output { get; }

    /// <summary>The output projection: output.weight, or token_embd when tied.</summary>
    public T[] OutputProjection => Output ?? TokenEmbedding;

    /// <summary>Zero weights of a shape (a gradient accumulator).</summary>
    public static ModelWeights<T> Zeros(ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var (d, f, v) = (config.Embedding, config.FeedForward, config.Vocabulary);
        var blocks = new BlockWeights<T>[config.Blocks];
        for (var b = 0; b < blocks.Length; b++)
        {
            blocks[b] = new BlockWeights<T>(new T[d], new T[d * d], new T[d * d], new T[d * d], new T[d * d], new T[d], new T[f * d], new T[f * d], new T[d * f]);
        }

        return new ModelWeights<T>(config, new T[v * d], blocks, new T[d], config.TiedOutput ? null : new T[v * d]);
    }

    /// <summary>Weights from tensors in <see cref="Tensors"/> order and shape.</summary>
    public static ModelWeights<T> FromTensors(ModelConfig config, IReadOnlyDictionary<string, T[]> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var model = Zeros(config);
        foreach (var tensor in model.Tensors())
        {
            tensors[tensor.Name].AsSpan().CopyTo(tensor.Values);
        }

        return model;
    }

    /// <summary>Every tensor with its GGUF name and shape, in the order llama models list them.</summary>
    public IEnumerable<NamedTensor<T>> Tensors()
    {
        var (d, f, v) = ((ulong)Config.Embedding, (ulong)Config.FeedForward, (ulong)Config.Vocabulary);
        yield return new("token_embd.weight", TokenEmbedding, [d, v]);
        for (var b = 0; b < Blocks.Length; b++)
        {
            var block = Blocks[b];
            yield return new($"blk.{b}.attn_norm.weight", block.AttnNorm, [d]);
            foreach (var target in LoraTargets.All)
            {
                if (target == LoraTarget.FfnGate)
                {
                    yield return new($"blk.{b}.ffn_norm.weight", block.FfnNorm, [d]);
                }

                yield return new(target.TensorName(b), block[target], [(ulong)Config.InputSize(target), (ulong)Config.OutputSize(target)]);
            }
        }

        yield return new("output_norm.weight", OutputNorm, [d]);
        if (Output is not null)
        {
            yield return new("output.weight", Output, [d, v]);
        }
    }

    /// <summary>The same weights in another precision (the gradient check runs in double).</summary>
    public ModelWeights<TOther> Convert<TOther>()
        where TOther : unmanaged, IFloatingPointIeee754<TOther> =>
        ModelWeights<TOther>.FromTensors(Config, Tensors().ToDictionary(t => t.Name, t => Array.ConvertAll(t.Values, TOther.CreateChecked)));

    /// <summary>Sets every value to zero.</summary>
    public void Clear()
    {
        foreach (var tensor in Tensors())
        {
            Array.Clear(tensor.Values);
        }
    }
}

/// <summary>The weights of one transformer block.</summary>
internal sealed class BlockWeights<T>(T[] attnNorm, T[] q, T[] k, T[] v, T[] output, T[] ffnNorm, T[] gate, T[] up, T[] down)
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>attn_norm.weight: n_embd.</summary>
    public T[] AttnNorm { get; } = attnNorm;

    /// <summary>ffn_norm.weight: n_embd.</summary>
    public T[] FfnNorm { get; } = ffnNorm;

    /// <summary>A weight matrix by target: n_out rows of n_in.</summary>
    public T[] this[LoraTarget target] => target switch
    {
        LoraTarget.AttnQ => q,
        LoraTarget.AttnK => k,
        LoraTarget.AttnV => v,
        LoraTarget.AttnOutput => output,
        LoraTarget.FfnGate => gate,
        LoraTarget.FfnUp => up,
        LoraTarget.FfnDown => down,
        _ => throw new ArgumentOutOfRangeException(nameof(target), target, null),
    };
}
