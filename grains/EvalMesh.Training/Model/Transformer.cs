using System.Numerics;
using System.Numerics.Tensors;
using EvalMesh.Training.Kernels;

namespace EvalMesh.Training.Model;

/// <summary>
/// The llama forward and backward passes over one sequence at a time, for weights in <typeparamref name="T"/>
/// (float to train; double to check gradients against finite differences). Each block is
/// x += attn_output(attention(rope(q(n)), rope(k(n)), v(n))) with n = RMSNorm(x), then
/// x += ffn_down(silu(ffn_gate(n)) ⊙ ffn_up(n)) with n = RMSNorm(x); the output is output(RMSNorm(x)). Adapted
/// matrices add (alpha / rank) · B A x. Thread-safe for concurrent sequences with one <see cref="Workspace{T}"/> each,
/// as long as <see cref="Refresh"/> is not running.
/// </summary>
internal sealed partial class Transformer<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly ModelWeights<T> _weights;
    private readonly LoraWeights<T>? _lora;
    private readonly ModelConfig _config;
    private readonly RopeTable<T> _rope;
    private readonly T _epsilon;
    private readonly T _attentionScale;

    // Transposed copies for the backward products (dx = dy W is a dot product per element with Wᵀ's rows) and for the
    // adapters' up-projection (y += (s · A x) Bᵀ as scaled rows of Bᵀ); refreshed after the weights change.
    private readonly ModelWeights<T> _transposed;
    private readonly T[]?[,] _loraBT;

    public Transformer(ModelWeights<T> weights, LoraWeights<T>? lora = null)
    {
        ArgumentNullException.ThrowIfNull(weights);
        _weights = weights;
        _lora = lora;
        _config = weights.Config;
        _rope = new RopeTable<T>(_config.HeadSize, _config.RopeBase);
        _epsilon = T.CreateChecked(_config.RmsEpsilon);
        _attentionScale = T.CreateChecked(_config.AttentionScale);
        _transposed = ModelWeights<T>.Zeros(_config);
        _loraBT = new T[]?[_config.Blocks, LoraTargets.All.Count];
        if (lora is not null)
        {
            foreach (var (block, target, _) in lora.Pairs())
            {
                _loraBT[block, (int)target] = new T[lora.Rank * _config.OutputSize(target)];
            }
        }

        Refresh();
    }

    public ModelConfig Config => _config;

    public LoraWeights<T>? Lora => _lora;

    /// <summary>Brings the transposed copies up to date after an optimizer step changed the weights.</summary>
    /// <param name="baseChanged">False when only the LoRA factors changed (the base is frozen).</param>
    public void Refresh(bool baseChanged = true)
    {
        if (baseChanged)
        {
            for (var b = 0; b < _config.Blocks; b++)
            {
                foreach (var target in LoraTargets.All)
                {
                    MatMul.Transpose<T>(_weights.Blocks[b][target], _config.OutputSize(target), _config.InputSize(target), _transposed.Blocks[b][target]);
                }
            }

            MatMul.Transpose<T>(_weights.OutputProjection, _config.Vocabulary, _config.Embedding, _transposed.OutputProjection);
        }

        if (_lora is not null)
        {
            foreach (var (block, target, pair) in _lora.Pairs())
            {
                MatMul.Transpose<T>(pair.B, _config.OutputSize(target), _lora.Rank, _loraBT[block, (int)target]);
            }
        }
    }

    /// <summary>Makes sure positions up to <paramref name="positions"/> have their rotary angles ready.</summary>
    public void PrepareRope(int positions) => _rope.Ensure(positions);

    /// <summary>The logits at every position of <paramref name="tokens"/>: n rows of n_vocab.</summary>
    public T[] Logits(ReadOnlySpan<int> tokens, Workspace<T> workspace)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        Forward(tokens, workspace);
        var (n, d, v) = (tokens.Length, _config.Embedding, _config.Vocabulary);
        var logits = new T[n * v];
        MatMul.ABt<T>(workspace.FinalNorm.AsSpan(0, n * d), _weights.OutputProjection, logits, n, v, d, accumulate: false);
        return logits;
    }

    /// <summary>The summed cross-entropy of a sequence's answer tokens (no gradients).</summary>
    public double Loss(TokenSequence sequence, Workspace<T> workspace) => LossAndGradients(sequence, workspace, T.Zero, null, null);

    /// <summary>
    /// The summed cross-entropy of a sequence's answer tokens; adds the gradients of that sum times
    /// <paramref name="gradientScale"/> to <paramref name="modelGradients"/> (all weights) and/or
    /// <paramref name="loraGradients"/> (the LoRA factors), whichever are given.
    /// </summary>
    public double LossAndGradients(TokenSequence sequence, Workspace<T> workspace, T gradientScale, ModelWeights<T>? modelGradients, LoraWeights<T>? loraGradients)
    {
        ArgumentNullException.ThrowIfNull(sequence);
        ArgumentNullException.ThrowIfNull(workspace);
        var inputs = sequence.Inputs;
        Forward(inputs, workspace);
        var (d, v) = (_config.Embedding, _config.Vocabulary);
        var (first, scored) = (sequence.FirstScoredPosition, sequence.ScoredTokens);
        var logits = workspace.Logits(scored, v);
        MatMul.ABt<T>(workspace.FinalNorm.AsSpan(first * d, scored * d), _weights.OutputProjection, logits, scored, v, d, accumulate: false);
        var loss = Ops.CrossEntropy<T>(logits.AsSpan(0, scored * v), sequence.Targets, v, gradientScale);
        if (modelGradients is not null || loraGradients is not null)
        {
            Backward(sequence, workspace, modelGradients, loraGradients);
        }

        return loss;
    }

    private void Forward(ReadOnlySpan<int> tokens, Workspace<T> ws)
    {
        var (n, d, f) = (tokens.Length, _config.Embedding, _config.FeedForward);
        if (n > ws.Capacity)
        {
            throw new ArgumentException($"{n} tokens do not fit a workspace for {ws.Capacity}", nameof(tokens));
        }

        var stream = ws.Stream[0].AsSpan(0, n * d);
        for (var t = 0; t < n; t++)
        {
            var token = tokens[t];
            if ((uint)token >= (uint)_config.Vocabulary)
            {
                throw new ArgumentOutOfRangeException(nameof(tokens), token, $"token {token} is outside the vocabulary of {_config.Vocabulary}");
            }

            _weights.TokenEmbedding.AsSpan(token * d, d).CopyTo(stream.Slice(t * d, d));
        }

        for (var b = 0; b < _config.Blocks; b++)
        {
            var weights = _weights.Blocks[b];
            var x = ws.Stream[b].AsSpan(0, n * d);
            var norm1 = ws.Norm1[b].AsSpan(0, n * d);
            Ops.RmsNorm<T>(x, weights.AttnNorm, norm1, ws.Inverse1[b], n, d, _epsilon);

            var q = ws.Q[b].AsSpan(0, n * d);
            Linear(b, LoraTarget.AttnQ, norm1, n, q, ws);
            _rope.Rotate(q, n, d);
            var keys = ws.DKeys.AsSpan(0, n * d);
            Linear(b, LoraTarget.AttnK, norm1, n, keys, ws);
            _rope.Rotate(keys, n, d);
            MatMul.Transpose<T>(keys, n, d, ws.KeysT[b]);
            var values = ws.DValues.AsSpan(0, n * d);
            Linear(b, LoraTarget.AttnV, norm1, n, values, ws);
            MatMul.Transpose<T>(values, n, d, ws.ValuesT[b]);

            var attended = ws.Attended[b].AsSpan(0, n * d);
            Attention.Forward<T>(q, ws.KeysT[b], ws.ValuesT[b], ws.Probabilities[b], attended, n, _config.Heads, _config.HeadSize, _attentionScale);
            var projected = ws.Projected.AsSpan(0, n * d);
            Linear(b, LoraTarget.AttnOutput, attended, n, projected, ws);
            var mid = ws.Mid[b].AsSpan(0, n * d);
            TensorPrimitives.Add(x, projected, mid);

            var norm2 = ws.Norm2[b].AsSpan(0, n * d);
            Ops.RmsNorm<T>(mid, weights.FfnNorm, norm2, ws.Inverse2[b], n, d, _epsilon);
            var gate = ws.Gate[b].AsSpan(0, n * f);
            var up = ws.Up[b].AsSpan(0, n * f);
            var activation = ws.Activation[b].AsSpan(0, n * f);
            Linear(b, LoraTarget.FfnGate, norm2, n, gate, ws);
            Linear(b, LoraTarget.FfnUp, norm2, n, up, ws);
            Ops.SwiGlu<T>(gate, up, activation);
            Linear(b, LoraTarget.FfnDown, activation, n, projected, ws);
            TensorPrimitives.Add(mid, projected, ws.Stream[b + 1].AsSpan(0, n * d));
        }

        Ops.RmsNorm<T>(ws.Stream[_config.Blocks].AsSpan(0, n * d), _weights.OutputNorm, ws.FinalNorm, ws.FinalInverse, n, d, _epsilon);
    }

    // y = x Wᵀ (+ s · (x Aᵀ) Bᵀ), keeping x Aᵀ for the backward pass.
    private void Linear(int block, LoraTarget target, ReadOnlySpan<T> x, int n, Span<T> y, Workspace<T> ws)
    {
        var (input, output) = (_config.InputSize(target), _config.OutputSize(target));
        MatMul.ABt<T>(x, _weights.Blocks[block][target], y, n, output, input, accumulate: false);
        if (_lora?[block, target] is { } pair)
        {
            var rank = _lora.Rank;
            var xa = ws.LoraInput[block, (int)target].AsSpan(0, n * rank);
            MatMul.ABt<T>(x, pair.A, xa, n, rank, input, accumulate: false);
            var scaled = ws.Scaled.AsSpan(0, n * rank);
            TensorPrimitives.Multiply(xa, _lora.Scale, scaled);
            MatMul.AB<T>(scaled, _loraBT[block, (int)target], y, n, output, rank, accumulate: true);
        }
    }
}
