using System.Numerics;
using System.Numerics.Tensors;
using EvalMesh.Training.Model;

namespace EvalMesh.Training.Optimization;

/// <summary>The settings of <see cref="AdamW{T}"/>.</summary>
/// <param name="Beta1">Decay of the first moment.</param>
/// <param name="Beta2">Decay of the second moment.</param>
/// <param name="Epsilon">Added to the root of the second moment.</param>
/// <param name="WeightDecay">Decoupled weight decay, applied to matrices only.</param>
internal sealed record AdamWSettings(float Beta1 = 0.9f, float Beta2 = 0.999f, float Epsilon = 1e-8f, float WeightDecay = 0f);

/// <summary>
/// AdamW (Loshchilov and Hutter, https://arxiv.org/abs/1711.05101) as PyTorch implements it: p ← p·(1 − lr·λ), then
/// m ← β1·m + (1 − β1)·g, v ← β2·v + (1 − β2)·g², p ← p − lr · (m / (1 − β1ᵗ)) / (sqrt(v / (1 − β2ᵗ)) + ε). Weight
/// decay applies to matrices (weights, LoRA factors), not to norm weights.
/// </summary>
internal sealed class AdamW<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly IReadOnlyList<NamedTensor<T>> _parameters;
    private readonly AdamWSettings _settings;
    private readonly T[][] _first;
    private readonly T[][] _second;
    private readonly T[] _scratch;
    private int _steps;

    public AdamW(IReadOnlyList<NamedTensor<T>> parameters, AdamWSettings settings)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(settings);
        _parameters = parameters;
        _settings = settings;
        _first = [.. parameters.Select(p => new T[p.Values.Length])];
        _second = [.. parameters.Select(p => new T[p.Values.Length])];
        _scratch = new T[parameters.Count == 0 ? 0 : parameters.Max(p => p.Values.Length)];
    }

    /// <summary>Optimizer steps taken.</summary>
    public int Steps => _steps;

    /// <summary>Updates every parameter from its gradient (same order and shapes as the parameters).</summary>
    public void Step(IReadOnlyList<NamedTensor<T>> gradients, double learningRate)
    {
        ArgumentNullException.ThrowIfNull(gradients);
        _steps++;
        var (beta1, beta2) = (T.CreateChecked(_settings.Beta1), T.CreateChecked(_settings.Beta2));
        var correction1 = 1 - Math.Pow(_settings.Beta1, _steps);
        var correction2 = 1 - Math.Pow(_settings.Beta2, _steps);
        var epsilon = T.CreateChecked(_settings.Epsilon);
        var stepSize = T.CreateChecked(-learningRate / correction1);
        var decay = T.CreateChecked(1 - (learningRate * _settings.WeightDecay));
        var inverseCorrection2 = T.CreateChecked(1 / correction2);
        for (var i = 0; i < _parameters.Count; i++)
        {
            var parameter = _parameters[i].Values.AsSpan();
            var gradient = gradients[i].Values.AsSpan();
            var m = _first[i].AsSpan();
            var v = _second[i].AsSpan();
            var scratch = _scratch.AsSpan(0, parameter.Length);
            if (_parameters[i].IsMatrix && _settings.WeightDecay != 0)
            {
                TensorPrimitives.Multiply(parameter, decay, parameter);
            }

            TensorPrimitives.Multiply(m, beta1, m);
            TensorPrimitives.MultiplyAdd(gradient, T.One - beta1, m, m);
            TensorPrimitives.Multiply(v, beta2, v);
            TensorPrimitives.Multiply(gradient, gradient, scratch);
            TensorPrimitives.MultiplyAdd(scratch, T.One - beta2, v, v);

            TensorPrimitives.Multiply(v, inverseCorrection2, scratch);
            TensorPrimitives.Sqrt(scratch, scratch);
            TensorPrimitives.Add(scratch, epsilon, scratch);
            TensorPrimitives.Divide(m, scratch, scratch);
            TensorPrimitives.MultiplyAdd(scratch, stepSize, parameter, parameter);
        }
    }
}
