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

        var tensors = GgufTensorData.ReadF32(file);
        var lora = LoraWeights<float>.Zeros(baseModel.Config, info.Rank, info.Alpha, targets);
        if (lora.Tensors().Count() != tensors.Count || lora.Tensors().Any(t => !tensors.ContainsKey(t.Name)))
        {
            throw new TrainingException(path, TrainingProblem.UnsupportedModel, "it does not adapt the same targets in every block");
        }

        return LoraWeights<float>.FromTensors(baseModel.Config, info.Rank, info.Alpha, targets, tensors);
    }
}
