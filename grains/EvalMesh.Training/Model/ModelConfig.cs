namespace EvalMesh.Training.Model;

/// <summary>The hyperparameters of a llama model, as far as the forward and backward passes need them.</summary>
/// <param name="Embedding">n_embd.</param>
/// <param name="Blocks">Transformer blocks.</param>
/// <param name="Heads">Attention heads; the key/value heads are as many (no grouped-query attention).</param>
/// <param name="FeedForward">n_ff.</param>
/// <param name="Vocabulary">Rows of token_embd.</param>
/// <param name="RmsEpsilon">llama.attention.layer_norm_rms_epsilon.</param>
/// <param name="RopeBase">llama.rope.freq_base (10000 when absent).</param>
/// <param name="AttentionScale">The scale of q·k: 1/sqrt(head size) for the llama architecture.</param>
/// <param name="TiedOutput">No output.weight: the output projection is token_embd.</param>
internal sealed record ModelConfig(int Embedding, int Blocks, int Heads, int FeedForward, int Vocabulary, float RmsEpsilon, float RopeBase, float AttentionScale, bool TiedOutput)
{
    /// <summary>The size of one head.</summary>
    public int HeadSize => Embedding / Heads;

    /// <summary>A config with the usual llama defaults, for models built in memory.</summary>
    public static ModelConfig Create(int embedding, int blocks, int heads, int feedForward, int vocabulary, bool tiedOutput = false, float rmsEpsilon = 1e-5f, float ropeBase = 10000f) =>
        new(embedding, blocks, heads, feedForward, vocabulary, rmsEpsilon, ropeBase, 1f / MathF.Sqrt(embedding / heads), tiedOutput);

    /// <summary>The input size of a target matrix.</summary>
    public int InputSize(LoraTarget target) => target == LoraTarget.FfnDown ? FeedForward : Embedding;

    /// <summary>The output size of a target matrix.</summary>
    public int OutputSize(LoraTarget target) => target is LoraTarget.FfnGate or LoraTarget.FfnUp ? FeedForward : Embedding;
}
