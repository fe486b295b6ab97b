using System.Runtime.InteropServices;
using EvalMesh.Inference.Gguf;

namespace EvalMesh.Training.Model;

/// <summary>Reads a LoRA adapter GGUF (as <see cref="GgufOutput.WriteAdapter"/> or the generated adapters write it).</summary>
internal static class AdapterFile
{
    /// <exception cref="TrainingException">The adapter does not fit the base or is not F32.</exception>
    public static LoraWeights<float> Read(string path, BaseModel baseModel)
    {
        ArgumentNullException.ThrowIfNull(baseModel);
        GgufFile file;
        AdapterFileInfo info;
        try
        {
            info = GgufValidator.ValidateAdapter(path, GgufValidator.ValidateModel(baseModel.Path));
            file = GgufFile.Read(path);
        }
        catch (GgufException ex)
        {
            throw new TrainingException(path, TrainingProblem.BaseModelUnreadable, ex.Message, innerException: ex);
        }

        var targets = new List<LoraTarget>();
        foreach (var target in LoraTargets.All)
        {
            if (file.Tensors.Any(t => t.Name == target.TensorName(0) + ".lora_a"))
            {
                targets.Add(target);
            }
        }

        var tensors = new Dictionary<string, float[]>(StringComparer.Ordinal);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        foreach (var tensor in file.Tensors)
        {
            if (tensor.Type != 0)
            {
                throw new TrainingException(path, TrainingProblem.UnsupportedTensorType, $"tensor '{tensor.Name}' is not F32");
            }

            var values = new float[tensor.ElementCount];
            stream.Position = file.DataOffset + (long)tensor.Offset;
            stream.ReadExactly(MemoryMarshal.AsBytes(values.AsSpan()));
            tensors[tensor.Name] = values;
        }

        var lora = LoraWeights<float>.Zeros(baseModel.Config, info.Rank, info.Alpha, targets);
        if (lora.Tensors().Count() != tensors.Count || lora.Tensors().Any(t => !tensors.ContainsKey(t.Name)))
        {
            throw new TrainingException(path, TrainingProblem.UnsupportedModel, "it does not adapt the same targets in every block");
        }

        return LoraWeights<float>.FromTensors(baseModel.Config, info.Rank, info.Alpha, targets, tensors);
    }
}
