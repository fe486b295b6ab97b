using System.Numerics;

namespace EvalMesh.Training.Model;

/// <summary>
/// LoRA factors for some target matrices of every block (or, with the same shapes, their gradients). For a weight W
/// (n_out rows of n_in) the adapted layer computes y = W x + (alpha / rank) · B (A x), as llama.cpp does, with A stored
/// as GGUF's lora_a ne=[n_in, rank] (rank rows of n_in) and B as lora_b ne=[rank, n_out] (n_out rows of rank).
/// </summary>
internal sealed class LoraWeights<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly LoraPair<T>?[,] _pairs;

    private LoraWeights(ModelConfig config, int rank, float alpha, IReadOnlyList<LoraTarget> targets)
    {
        Config = config;
        Rank = rank;
        Alpha = alpha;
        Targets = [.. LoraTargets.All.Where(targets.Contains)];
        _pairs = new LoraPair<T>?[config.Blocks, LoraTargets.All.Count];
        for (var b = 0; b < config.Blocks; b++)
        {
            foreach (var target in Targets)
            {
                _pairs[b, (int)target] = new LoraPair<T>(new T[rank * config.InputSize(target)], new T[config.OutputSize(target) * rank]);
            }
        }
    }

    public ModelConfig Config { get; }

    public int Rank { get; }

    public float Alpha { get; }

    /// <summary>The adapted targets, in <see cref="LoraTargets.All"/> order.</summary>
    public IReadOnlyList<LoraTarget> Targets { get; }

    /// <summary>alpha / rank, the factor llama.cpp applies to B A x (at an adapter scale of 1).</summary>
    public T Scale => T.CreateChecked(Alpha / Rank);

    /// <summary>The factors of a target in a block, or null if it is not adapted.</summary>
    public LoraPair<T>? this[int block, LoraTarget target] => _pairs[block, (int)target];

    /// <summary>Zero factors (a gradient accumulator, or B before training).</summary>
    public static LoraWeights<T> Zeros(ModelConfig config, int rank, float alpha, IReadOnlyList<LoraTarget> targets)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentOutOfRangeException.ThrowIfLessThan(rank, 1);
        return new LoraWeights<T>(config, rank, alpha, targets);
    }

    /// <summary>
    /// Factors as PEFT initialises them: A uniform in ±1/sqrt(n_in) (Kaiming-uniform with a = sqrt(5)), B zero, so the
    /// adapted model starts out equal to the base.
    /// </summary>
    public static LoraWeights<T> Initialise(ModelConfig config, int rank, float alpha, IReadOnlyList<LoraTarget> targets, int seed)
    {
        var lora = Zeros(config, rank, alpha, targets);
        var random = new Random(seed);
        foreach (var (block, target, pair) in lora.Pairs())
        {
            var bound = 1.0 / Math.Sqrt(config.InputSize(target));
            for (var i = 0; i < pair.A.Length; i++)
            {
                pair.A[i] = T.CreateChecked(((2 * random.NextDouble()) - 1) * bound);
            }
        }

        return lora;
    }

    /// <summary>Factors of the same shape as <paramref name="like"/>, all zero.</summary>
    public static LoraWeights<T> ZerosLike<TOther>(LoraWeights<TOther> like)
        where TOther : unmanaged, IFloatingPointIeee754<TOther>
    {
        ArgumentNullException.ThrowIfNull(like);
        return Zeros(like.Config, like.Rank, like.Alpha, like.Targets);
    }

    /// <summary>Factors from tensors named and shaped as <see cref="Tensors"/> lists them.</summary>
    public static LoraWeights<T> FromTensors(ModelConfig config, int rank, float alpha, IReadOnlyList<LoraTarget> targets, IReadOnlyDictionary<string, T[]> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var lora = Zeros(config, rank, alpha, targets);
        foreach (var tensor in lora.Tensors())
        {
            tensors[tensor.Name].AsSpan().CopyTo(tensor.Values);
        }

        return lora;
    }

    /// <summary>The adapted (block, target) pairs, block by block.</summary>
    public IEnumerable<(int Block, LoraTarget Target, LoraPair<T> Pair)> Pairs()
    {
        for (var b = 0; b < Config.Blocks; b++)
        {
            foreach (var target in Targets)
            {
                yield return (b, target, _pairs[b, (int)target]!);
            }
        }
    }

    /// <summary>lora_a then lora_b of every adapted weight, block by block, as the generated adapters list them.</summary>
    public IEnumerable<NamedTensor<T>> Tensors()
    {
        var r = (ulong)Rank;
        foreach (var (block, target, pair) in Pairs())
        {
            var name = target.TensorName(block);
            yield return new(name + ".lora_a", pair.A, [(ulong)Config.InputSize(target), r]);
            yield return new(name + ".lora_b", pair.B, [r, (ulong)Config.OutputSize(target)]);
        }
    }

    /// <summary>The same factors in another precision.</summary>
    public LoraWeights<TOther> Convert<TOther>()
        where TOther : unmanaged, IFloatingPointIeee754<TOther> =>
        LoraWeights<TOther>.FromTensors(Config, Rank, Alpha, Targets, Tensors().ToDictionary(t => t.Name, t => Array.ConvertAll(t.Values, TOther.CreateChecked)));

    /// <summary>Sets every value to zero.</summary>
    public void Clear()
    {
        foreach (var tensor in Tensors())
        {
            Array.Clear(tensor.Values);
        }
    }
}

/// <summary>The two factors of one adapted weight.</summary>
/// <param name="A">lora_a: rank rows of n_in.</param>
/// <param name="B">lora_b: n_out rows of rank.</param>
internal sealed record LoraPair<T>(T[] A, T[] B);
