namespace EvalMesh.Training;

/// <summary>A weight matrix of every llama block that a LoRA adapter can adapt.</summary>
public enum LoraTarget
{
    /// <summary><c>blk.N.attn_q.weight</c>, n_embd → n_embd.</summary>
    AttnQ,

    /// <summary><c>blk.N.attn_k.weight</c>, n_embd → n_embd.</summary>
    AttnK,

    /// <summary><c>blk.N.attn_v.weight</c>, n_embd → n_embd.</summary>
    AttnV,

    /// <summary><c>blk.N.attn_output.weight</c>, n_embd → n_embd.</summary>
    AttnOutput,

    /// <summary><c>blk.N.ffn_gate.weight</c>, n_embd → n_ff.</summary>
    FfnGate,

    /// <summary><c>blk.N.ffn_up.weight</c>, n_embd → n_ff.</summary>
    FfnUp,

    /// <summary><c>blk.N.ffn_down.weight</c>, n_ff → n_embd.</summary>
    FfnDown,
}

/// <summary>The names of <see cref="LoraTarget"/>s as GGUF tensors spell them.</summary>
public static class LoraTargets
{
    /// <summary>All seven targets, in the order the adapters list them.</summary>
    public static IReadOnlyList<LoraTarget> All { get; } = Array.AsReadOnly(Enum.GetValues<LoraTarget>());

    /// <summary>The target's part of the tensor name, such as <c>attn_q</c>.</summary>
    public static string Name(this LoraTarget target) => target switch
    {
        LoraTarget.AttnQ => "attn_q",
        LoraTarget.AttnK => "attn_k",
        LoraTarget.AttnV => "attn_v",
        LoraTarget.AttnOutput => "attn_output",
        LoraTarget.FfnGate => "ffn_gate",
        LoraTarget.FfnUp => "ffn_up",
        LoraTarget.FfnDown => "ffn_down",
        _ => throw new ArgumentOutOfRangeException(nameof(target), target, null),
    };

    /// <summary>The weight tensor a target adapts in block <paramref name="block"/>, such as <c>blk.0.attn_q.weight</c>.</summary>
    public static string TensorName(this LoraTarget target, int block) => $"blk.{block}.{target.Name()}.weight";

    /// <summary>Parses a name such as <c>attn_q</c> (as <see cref="Name"/> gives it).</summary>
    public static bool TryParse(string name, out LoraTarget target)
    {
        foreach (var candidate in All)
        {
            if (string.Equals(candidate.Name(), name, StringComparison.Ordinal))
            {
                target = candidate;
                return true;
            }
        }

        target = default;
        return false;
    }
}
