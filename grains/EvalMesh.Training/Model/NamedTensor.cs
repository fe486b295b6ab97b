using System.Numerics;

namespace EvalMesh.Training.Model;

/// <summary>A parameter tensor with its GGUF name and shape (ne[0], the input size, first).</summary>
/// <param name="Name">Such as <c>blk.0.attn_q.weight</c>.</param>
/// <param name="Values">Row-major data: [ne1][ne0].</param>
/// <param name="Dimensions">ne[0], ne[1].</param>
internal sealed record NamedTensor<T>(string Name, T[] Values, ulong[] Dimensions)
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>A matrix (weight decay applies) rather than a vector (a norm's weights).</summary>
    public bool IsMatrix => Dimensions.Length == 2;
}
