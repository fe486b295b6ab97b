using System.Numerics;
using System.Numerics.Tensors;
using EvalMesh.Training.Kernels;

namespace EvalMesh.Training.Model;

internal sealed partial class Transformer<T>
{
    // The logits' rows already hold (softmax − onehot) · scale; walks the blocks backwards with dx, the gradient of
    // the residual stream, adding every contribution to it.
    private void Backward(TokenSequence sequence, Workspace<T> ws, ModelWeights<T>? modelGradients, LoraWeights<T>? loraGradients)
    {
        var inputs = sequence.Inputs;
        var (n, d, f, v) = (inputs.Length, _config.Embedding, _config.FeedForward, _config.Vocabulary);
        var (first, scored) = (sequence.FirstScoredPosition, sequence.ScoredTokens);
        var dLogits = ws.Logits(scored, v).AsSpan(0, scored * v);
        ws.ForgetTransposed();

        // Output: d(normed) = dlogits · W_out for the scored rows; dW_out += dlogitsᵀ · normed.
        var dNorm = ws.DNorm.AsSpan(0, n * d);
        dNorm.Clear();
        MatMul.ABt<T>(dLogits, _transposed.OutputProjection, dNorm[(first * d)..], scored, d, v, accumulate: false);
        if (modelGradients is not null)
        {
            var dLogitsT = ws.DLogitsT(scored, v);
            MatMul.Transpose<T>(dLogits, scored, v, dLogitsT);
            var normedT = ws.DOutputT.AsSpan(0, d * scored);
            MatMul.Transpose<T>(ws.FinalNorm.AsSpan(first * d, scored * d), scored, d, normedT);
            MatMul.ABt<T>(dLogitsT, normedT, modelGradients.OutputProjection, v, d, scored, accumulate: true);
        }

        var dx = ws.DStream.AsSpan(0, n * d);
        dx.Clear();
        Ops.RmsNormBackward<T>(ws.Stream[_config.Blocks], _weights.OutputNorm, ws.FinalInverse, dNorm, dx, modelGradients is null ? [] : modelGradients.OutputNorm, first, scored, d, ws.Row);

        for (var b = _config.Blocks - 1; b >= 0; b--)
        {
            var weights = _weights.Blocks[b];
            var gradients = modelGradients?.Blocks[b];

            // FFN: x_out = mid + down(silu(gate(n2)) ⊙ up(n2)).
            var dActivation = ws.DActivation.AsSpan(0, n * f);
            dActivation.Clear();
            LinearBackward(b, LoraTarget.FfnDown, dx, ws.Activation[b], n, dActivation, ws, gradients, loraGradients);
            var dGate = ws.DGate.AsSpan(0, n * f);
            var dUp = ws.DUp.AsSpan(0, n * f);
            Ops.SwiGluBackward<T>(ws.Gate[b].AsSpan(0, n * f), ws.Up[b].AsSpan(0, n * f), dActivation, dGate, dUp, ws.Elementwise.AsSpan(0, n * f));
            dNorm.Clear();
            LinearBackward(b, LoraTarget.FfnGate, dGate, ws.Norm2[b], n, dNorm, ws, gradients, loraGradients);
            LinearBackward(b, LoraTarget.FfnUp, dUp, ws.Norm2[b], n, dNorm, ws, gradients, loraGradients);
            Ops.RmsNormBackward<T>(ws.Mid[b], weights.FfnNorm, ws.Inverse2[b], dNorm, dx, gradients is null ? [] : gradients.FfnNorm, 0, n, d, ws.Row);

            // Attention: mid = x + attn_output(attention(...)).
            var dAttended = ws.DAttended.AsSpan(0, n * d);
            dAttended.Clear();
            LinearBackward(b, LoraTarget.AttnOutput, dx, ws.Attended[b], n, dAttended, ws, gradients, loraGradients);
            var dq = ws.DQ.AsSpan(0, n * d);
            Attention.Backward<T>(ws.Q[b], ws.KeysT[b], ws.ValuesT[b], ws.Probabilities[b], dAttended, dq, ws.DKeysT, ws.DValuesT, n, _config.Heads, _config.HeadSize, _attentionScale, ws.Row);
            var dKeys = ws.DKeys.AsSpan(0, n * d);
            var dValues = ws.DValues.AsSpan(0, n * d);
            MatMul.Transpose<T>(ws.DKeysT.AsSpan(0, d * n), d, n, dKeys);
            MatMul.Transpose<T>(ws.DValuesT.AsSpan(0, d * n), d, n, dValues);
            _rope.RotateBack(dq, n, d);
            _rope.RotateBack(dKeys, n, d);

            // Below the first block only the embeddings need dx, and only when they are trained.
            var below = b > 0 || modelGradients is not null;
            var dInput = below ? dNorm : [];
            dNorm.Clear();
            LinearBackward(b, LoraTarget.AttnQ, dq, ws.Norm1[b], n, dInput, ws, gradients, loraGradients);
            LinearBackward(b, LoraTarget.AttnK, dKeys, ws.Norm1[b], n, dInput, ws, gradients, loraGradients);
            LinearBackward(b, LoraTarget.AttnV, dValues, ws.Norm1[b], n, dInput, ws, gradients, loraGradients);
            if (below)
            {
                Ops.RmsNormBackward<T>(ws.Stream[b], weights.AttnNorm, ws.Inverse1[b], dNorm, dx, gradients is null ? [] : gradients.AttnNorm, 0, n, d, ws.Row);
            }
        }

        if (modelGradients is not null)
        {
            for (var t = 0; t < n; t++)
            {
                var row = modelGradients.TokenEmbedding.AsSpan(inputs[t] * d, d);
                TensorPrimitives.Add(row, dx.Slice(t * d, d), row);
            }
        }
    }

    // The backward pass of y = x Wᵀ (+ s · (x Aᵀ) Bᵀ) given dy: dx += dy W (unless dx is empty), dW += dyᵀ x,
    // dB += s · dyᵀ (x Aᵀ), dA += (s · dy B)ᵀ x, dx += (s · dy B) A.
    private void LinearBackward(int block, LoraTarget target, ReadOnlySpan<T> dy, T[] x, int n, Span<T> dx, Workspace<T> ws, BlockWeights<T>? gradients, LoraWeights<T>? loraGradients)
    {
        var (input, output) = (_config.InputSize(target), _config.OutputSize(target));
        dy = dy[..(n * output)];
        if (!dx.IsEmpty)
        {
            MatMul.ABt<T>(dy, _transposed.Blocks[block][target], dx, n, input, output, accumulate: true);
        }

        var pair = _lora?[block, target];
        var factorGradients = pair is null ? null : loraGradients?[block, target];
        if (gradients is null && factorGradients is null && pair is null)
        {
            return;
        }

        var inputT = Span<T>.Empty;
        var dyT = ws.DOutputT.AsSpan(0, output * n);
        if (gradients is not null || factorGradients is not null)
        {
            inputT = ws.Transposed(x, n, input);
            MatMul.Transpose(dy, n, output, dyT);
        }

        if (gradients is not null)
        {
            MatMul.ABt<T>(dyT, inputT, gradients[target], output, input, n, accumulate: true);
        }

        if (pair is null)
        {
            return;
        }

        var rank = _lora!.Rank;
        var scale = _lora.Scale;
        var dxa = ws.DLoraInput.AsSpan(0, n * rank);
        MatMul.ABt<T>(dy, _loraBT[block, (int)target], dxa, n, rank, output, accumulate: false);
        TensorPrimitives.Multiply(dxa, scale, dxa);
        if (factorGradients is not null)
        {
            var xaT = ws.LoraInputT.AsSpan(0, rank * n);
            MatMul.Transpose<T>(ws.LoraInput[block, (int)target].AsSpan(0, n * rank), n, rank, xaT);
            var dB = ws.DFactor.AsSpan(0, output * rank);
            MatMul.ABt<T>(dyT, xaT, dB, output, rank, n, accumulate: false);
            TensorPrimitives.MultiplyAdd(dB, scale, factorGradients.B, factorGradients.B);
            var dxaT = ws.DLoraInputT.AsSpan(0, rank * n);
            MatMul.Transpose<T>(dxa, n, rank, dxaT);
            MatMul.ABt<T>(dxaT, inputT, factorGradients.A, rank, input, n, accumulate: true);
        }

        if (!dx.IsEmpty)
        {
            MatMul.AB<T>(dxa, pair.A, dx, n, input, rank, accumulate: true);
        }
    }
}
