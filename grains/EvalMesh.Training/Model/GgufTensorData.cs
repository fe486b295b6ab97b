using System.Runtime.InteropServices;
using EvalMesh.Inference.Gguf;

namespace EvalMesh.Training.Model;

/// <summary>Reads the F32 tensor data of a GGUF file whose header has been read.</summary>
internal static class GgufTensorData
{
    /// <exception cref="TrainingException">A tensor is not F32.</exception>
    public static Dictionary<string, float[]> ReadF32(GgufFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        var data = new Dictionary<string, float[]>(StringComparer.Ordinal);
        using var stream = new FileStream(file.Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        foreach (var tensor in file.Tensors)
        {
            if (tensor.Type != 0)
            {
                throw new TrainingException(file.Path, TrainingProblem.UnsupportedTensorType, $"tensor '{tensor.Name}' is not F32 (ggml type {tensor.Type})");
            }

            var values = new float[tensor.ElementCount];
            stream.Position = file.DataOffset + (long)tensor.Offset;
            stream.ReadExactly(MemoryMarshal.AsBytes(values.AsSpan()));
            data[tensor.Name] = values;
        }

        return data;
    }
}
