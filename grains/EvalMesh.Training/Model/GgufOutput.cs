using System.Security.Cryptography;
using System.Text;
using EvalMesh.Inference.Gguf;
using EvalMesh.Inference.Tiny;

namespace EvalMesh.Training.Model;

/// <summary>The files training writes: a LoRA adapter for a base, or a whole trained model.</summary>
internal static class GgufOutput
{
    /// <summary>
    /// Writes an adapter as the generated adapters are written: general.type=adapter, adapter.type=lora,
    /// adapter.lora.alpha, evalmesh.base_fingerprint (when the base has a fingerprint), lora_a and lora_b per target.
    /// </summary>
    public static void WriteAdapter(string path, string name, LoraWeights<float> lora, BaseModel baseModel)
    {
        var writer = new GgufWriter()
            .Add("general.architecture", "llama")
            .Add("general.type", "adapter")
            .Add("general.name", name)
            .Add("adapter.type", "lora")
            .Add("adapter.lora.alpha", lora.Alpha);
        if (baseModel.Fingerprint is { } fingerprint)
        {
            writer.Add(TinyModel.BaseFingerprintKey, fingerprint);
        }

        foreach (var tensor in lora.Tensors())
        {
            writer.AddTensor(tensor.Name, tensor.Values, tensor.Dimensions);
        }

        writer.Write(path);
    }

    /// <summary>
    /// Writes a complete model: the base's metadata (vocabulary included) in its order, with a new
    /// evalmesh.fingerprint derived from the base's and the new weights, and every tensor in the base's order.
    /// </summary>
    /// <returns>The new fingerprint.</returns>
    public static string WriteModel(string path, BaseModel baseModel, ModelWeights<float> weights)
    {
        var tensors = weights.Tensors().ToDictionary(t => t.Name, StringComparer.Ordinal);
        var fingerprint = Fingerprint(baseModel, weights);
        var writer = CopyMetadata(baseModel, fingerprint);
        foreach (var info in baseModel.File.Tensors)
        {
            writer.AddTensor(info.Name, tensors[info.Name].Values, [.. info.Dimensions]);
        }

        writer.Write(path);
        return fingerprint;
    }

    /// <summary>Checks, before training starts, that <see cref="WriteModel"/> can copy every metadata value of the base.</summary>
    /// <exception cref="TrainingException">A value has a type the GGUF writer does not write.</exception>
    public static void CheckMetadataCopies(BaseModel baseModel) => CopyMetadata(baseModel, string.Empty);

    private static GgufWriter CopyMetadata(BaseModel baseModel, string fingerprint)
    {
        var writer = new GgufWriter();
        var hasFingerprint = false;
        foreach (var (key, value) in baseModel.File.Metadata)
        {
            // The writer aligns to 32 bytes, GGUF's default, and does not write the key.
            if (key == "general.alignment")
            {
                continue;
            }

            if (key == TinyModel.FingerprintKey)
            {
                writer.Add(key, fingerprint);
                hasFingerprint = true;
                continue;
            }

            AddCopy(writer, baseModel.Path, key, value);
        }

        if (!hasFingerprint)
        {
            writer.Add(TinyModel.FingerprintKey, fingerprint);
        }

        return writer;
    }

    private static string Fingerprint(BaseModel baseModel, ModelWeights<float> weights)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes(baseModel.Fingerprint ?? baseModel.Path));
        foreach (var tensor in weights.Tensors())
        {
            hash.AppendData(Encoding.UTF8.GetBytes(tensor.Name));
            hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(tensor.Values.AsSpan()));
        }

        return "trained-" + Convert.ToHexStringLower(hash.GetHashAndReset())[..16];
    }

    private static void AddCopy(GgufWriter writer, string path, string key, object value)
    {
        switch (value)
        {
            case string text:
                writer.Add(key, text);
                break;
            case uint number:
                writer.Add(key, number);
                break;
            case float number:
                writer.Add(key, number);
                break;
            case bool flag:
                writer.Add(key, flag);
                break;
            case object[] { Length: > 0 } items when items.All(i => i is string):
                writer.Add(key, items.Cast<string>().ToList());
                break;
            case object[] { Length: > 0 } items when items.All(i => i is float):
                writer.Add(key, items.Cast<float>().ToList());
                break;
            case object[] { Length: > 0 } items when items.All(i => i is int):
                writer.Add(key, items.Cast<int>().ToList());
                break;
            default:
                throw new TrainingException(path, TrainingProblem.UnsupportedModel,
                    $"metadata '{key}' is a {Describe(value)}, which the GGUF writer cannot copy into the trained model");
        }
    }

    private static string Describe(object value) => value is object[] items
        ? $"{(items.Length == 0 ? "empty array" : $"array of {items[0].GetType().Name}")}"
        : value.GetType().Name;
}
