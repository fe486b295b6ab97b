using System.Globalization;
using EvalMesh.Inference.Tiny;

namespace EvalMesh.Inference.Gguf;

/// <summary>A base model file that passed validation.</summary>
/// <param name="Path">The file.</param>
/// <param name="Architecture">general.architecture, such as <c>llama</c>.</param>
/// <param name="Fingerprint">The generated model's fingerprint, when it has one.</param>
/// <param name="ContextLength">The context length it declares.</param>
/// <param name="Tensors">Tensors by name, for checking adapters against.</param>
/// <param name="Length">File size in bytes.</param>
/// <param name="LastWrite">Last write time when validated, to notice a file that changes while it loads.</param>
public sealed record ModelFileInfo(string Path, string Architecture, string? Fingerprint, int ContextLength, IReadOnlyDictionary<string, GgufTensorInfo> Tensors, long Length, DateTime LastWrite);

/// <summary>A LoRA adapter file that passed validation against its base model.</summary>
/// <param name="Path">The file.</param>
/// <param name="Alpha">adapter.lora.alpha.</param>
/// <param name="Rank">The LoRA rank.</param>
/// <param name="TensorCount">Number of tensors (two per adapted weight).</param>
/// <param name="Length">File size in bytes.</param>
/// <param name="LastWrite">Last write time when validated.</param>
public sealed record AdapterFileInfo(string Path, float Alpha, int Rank, int TensorCount, long Length, DateTime LastWrite);

/// <summary>
/// Checks GGUF files before llama.cpp sees them: a LoRA load that fails natively does not throw, and using its result
/// crashes the process, so nothing unvalidated is ever handed over.
/// </summary>
public static class GgufValidator
{
    /// <summary>Validates a base model file.</summary>
    /// <exception cref="GgufException">Why the file cannot be used.</exception>
    public static ModelFileInfo ValidateModel(string path)
    {
        var file = GgufFile.Read(path);
        var type = file.GetString("general.type");
        if (type is not (null or "model"))
        {
            throw new GgufException(path, GgufProblem.NotAModel, $"general.type is '{type}'");
        }

        var architecture = file.GetString("general.architecture")
            ?? throw new GgufException(path, GgufProblem.Malformed, "general.architecture is missing");
        if (file.GetString("tokenizer.ggml.model") is null)
        {
            throw new GgufException(path, GgufProblem.NotAModel, "it has no tokenizer (tokenizer.ggml.model is missing)");
        }

        if (file.GetNumber($"{architecture}.embedding_length") is null || file.GetNumber($"{architecture}.block_count") is null)
        {
            throw new GgufException(path, GgufProblem.Malformed, $"{architecture}.embedding_length or {architecture}.block_count is missing");
        }

        var tensors = file.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        if (!tensors.ContainsKey("token_embd.weight"))
        {
            throw new GgufException(path, GgufProblem.NotAModel, "it has no token_embd.weight tensor");
        }

        var context = (int)(file.GetNumber($"{architecture}.context_length") ?? 4096);
        return new ModelFileInfo(path, architecture, file.GetString(TinyModel.FingerprintKey), context, tensors, file.Length, File.GetLastWriteTimeUtc(path));
    }

    /// <summary>Validates a LoRA adapter against the base model it will be applied to.</summary>
    /// <exception cref="GgufException">Why the adapter cannot be used with this base.</exception>
    public static AdapterFileInfo ValidateAdapter(string path, ModelFileInfo model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var file = GgufFile.Read(path);
        var type = file.GetString("general.type");
        if (type != "adapter")
        {
            throw new GgufException(path, GgufProblem.NotAnAdapter, $"general.type is '{type ?? "(missing)"}', not 'adapter'");
        }

        var adapterType = file.GetString("adapter.type");
        if (adapterType != "lora")
        {
            throw new GgufException(path, GgufProblem.NotAnAdapter, $"adapter.type is '{adapterType ?? "(missing)"}', not 'lora'");
        }

        var architecture = file.GetString("general.architecture");
        if (architecture != model.Architecture)
        {
            throw new GgufException(path, GgufProblem.AdapterForAnotherBase, $"it is for architecture '{architecture}', the base is '{model.Architecture}'");
        }

        var baseFingerprint = file.GetString(TinyModel.BaseFingerprintKey);
        if (baseFingerprint is not null && model.Fingerprint is not null && baseFingerprint != model.Fingerprint)
        {
            throw new GgufException(path, GgufProblem.AdapterForAnotherBase, $"it was made for base {baseFingerprint}, not {model.Fingerprint} ({model.Path})");
        }

        var alpha = (float)(file.GetNumber("adapter.lora.alpha") ?? throw new GgufException(path, GgufProblem.Malformed, "adapter.lora.alpha is missing"));
        var tensors = file.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        if (tensors.Count == 0)
        {
            throw new GgufException(path, GgufProblem.Malformed, "it has no tensors");
        }

        var rank = -1;
        foreach (var a in tensors.Values.Where(t => t.Name.EndsWith(".lora_a", StringComparison.Ordinal)))
        {
            var target = a.Name[..^".lora_a".Length];
            var b = tensors.GetValueOrDefault(target + ".lora_b")
                ?? throw new GgufException(path, GgufProblem.Malformed, $"'{a.Name}' has no matching '{target}.lora_b'");
            var weight = model.Tensors.GetValueOrDefault(target)
                ?? throw new GgufException(path, GgufProblem.AdapterForAnotherBase, $"it adapts '{target}', which the base model does not have");
            if (a.Dimensions.Count != 2 || b.Dimensions.Count != 2 || weight.Dimensions.Count != 2)
            {
                throw new GgufException(path, GgufProblem.ShapeMismatch, $"'{target}': LoRA tensors and their weight must be matrices");
            }

            // lora_a is [n_in, r], lora_b is [r, n_out], the weight is [n_in, n_out] (ne[0] first).
            var fits = a.Dimensions[0] == weight.Dimensions[0] && b.Dimensions[1] == weight.Dimensions[1] && a.Dimensions[1] == b.Dimensions[0];
            if (!fits)
            {
                throw new GgufException(path, GgufProblem.ShapeMismatch, string.Create(CultureInfo.InvariantCulture,
                    $"'{target}' is {weight.Shape} in the base but the adapter has lora_a {a.Shape} and lora_b {b.Shape}"));
            }

            if (rank >= 0 && (int)a.Dimensions[1] != rank)
            {
                throw new GgufException(path, GgufProblem.ShapeMismatch, $"'{target}' has rank {a.Dimensions[1]} but other tensors have rank {rank}");
            }

            rank = (int)a.Dimensions[1];
        }

        var unpaired = tensors.Keys.FirstOrDefault(n => !n.EndsWith(".lora_a", StringComparison.Ordinal) && !(n.EndsWith(".lora_b", StringComparison.Ordinal) && tensors.ContainsKey(n[..^".lora_b".Length] + ".lora_a")));
        if (unpaired is not null)
        {
            throw new GgufException(path, GgufProblem.Malformed, $"tensor '{unpaired}' is not part of a lora_a/lora_b pair");
        }

        return new AdapterFileInfo(path, alpha, rank, tensors.Count, file.Length, File.GetLastWriteTimeUtc(path));
    }
}
