using System.Globalization;
using EvalMesh.Inference.Gguf;
using EvalMesh.Inference.Tiny;

namespace EvalMesh.Training.Model;

/// <summary>
/// A base model read for training: its GGUF metadata, its hyperparameters and its F32 weights. Only what the trainer
/// implements is accepted (llama blocks with RMSNorm, RoPE attention without grouped-query heads, SwiGLU, tied or
/// untied output, all F32); anything else is a <see cref="TrainingException"/> naming the file and what is not supported.
/// </summary>
internal sealed class BaseModel
{
    private BaseModel(GgufFile file, ModelConfig config, ModelWeights<float> weights)
    {
        File = file;
        Config = config;
        Weights = weights;
    }

    public string Path => File.Path;

    public GgufFile File { get; }

    public ModelConfig Config { get; }

    public ModelWeights<float> Weights { get; }

    /// <summary>The model's <c>evalmesh.fingerprint</c>, which its adapters name as their base.</summary>
    public string? Fingerprint => File.GetString(TinyModel.FingerprintKey);

    /// <exception cref="TrainingException">The file is not a base model the trainer can train.</exception>
    public static BaseModel Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        GgufFile file;
        try
        {
            GgufValidator.ValidateModel(path);
            file = GgufFile.Read(path);
        }
        catch (GgufException ex)
        {
            var detail = ex.Message.StartsWith(path + ": ", StringComparison.Ordinal) ? ex.Message[(path.Length + 2)..] : ex.Message;
            throw new TrainingException(path, TrainingProblem.BaseModelUnreadable, detail, innerException: ex);
        }

        var config = ReadConfig(file);
        var expected = ModelWeights<float>.Zeros(config).Tensors().ToDictionary(t => t.Name, StringComparer.Ordinal);
        foreach (var tensor in file.Tensors)
        {
            if (!expected.TryGetValue(tensor.Name, out var wanted))
            {
                throw Unsupported(path, $"it has tensor '{tensor.Name}', which is not part of the llama block the built-in trainer implements");
            }

            if (!tensor.Dimensions.SequenceEqual(wanted.Dimensions))
            {
                throw Unsupported(path, $"tensor '{tensor.Name}' is {tensor.Shape}, but the metadata makes it [{string.Join(", ", wanted.Dimensions)}]");
            }

            if (tensor.Type != 0)
            {
                throw new TrainingException(path, TrainingProblem.UnsupportedTensorType, $"tensor '{tensor.Name}' has ggml type {TypeName(tensor.Type)}; the built-in trainer reads F32 weights only");
            }
        }

        var missing = expected.Keys.FirstOrDefault(name => file.Tensors.All(t => t.Name != name));
        if (missing is not null)
        {
            throw Unsupported(path, $"it has no tensor '{missing}'");
        }

        return new BaseModel(file, config, ModelWeights<float>.FromTensors(config, GgufTensorData.ReadF32(file)));
    }

    private static ModelConfig ReadConfig(GgufFile file)
    {
        var path = file.Path;
        var architecture = file.GetString("general.architecture");
        if (architecture != "llama")
        {
            throw Unsupported(path, $"its architecture is '{architecture}'; the built-in trainer implements 'llama' only");
        }

        int Required(string key) => file.GetNumber(key) is { } value && value >= 1 && value == Math.Floor(value) && value <= int.MaxValue
            ? (int)value
            : throw Unsupported(path, $"{key} is missing, not a positive integer, or given per layer");

        var embedding = Required("llama.embedding_length");
        var blocks = Required("llama.block_count");
        var feedForward = Required("llama.feed_forward_length");
        var heads = Required("llama.attention.head_count");
        var kvHeads = file.Metadata.ContainsKey("llama.attention.head_count_kv") ? Required("llama.attention.head_count_kv") : heads;
        if (kvHeads != heads)
        {
            throw Unsupported(path, $"it uses grouped-query attention ({kvHeads} key/value heads for {heads} heads), which the built-in trainer does not implement");
        }

        if (embedding % heads != 0 || embedding / heads % 2 != 0)
        {
            throw Unsupported(path, $"n_embd {embedding} does not split into {heads} heads of an even size");
        }

        var headSize = embedding / heads;
        if (file.Metadata.ContainsKey("llama.rope.dimension_count") && Required("llama.rope.dimension_count") != headSize)
        {
            throw Unsupported(path, $"llama.rope.dimension_count is {file.GetNumber("llama.rope.dimension_count")}, not the head size {headSize}");
        }

        if (file.GetNumber("llama.expert_count") is > 0)
        {
            throw Unsupported(path, "it is a mixture of experts, which the built-in trainer does not implement");
        }

        var scaling = file.GetString("llama.rope.scaling.type");
        var factor = file.GetNumber("llama.rope.scaling.factor");
        if (scaling is not (null or "none") || factor is not (null or 0 or 1))
        {
            throw Unsupported(path, string.Create(CultureInfo.InvariantCulture, $"it uses RoPE scaling ({scaling ?? "linear"}, factor {factor ?? 1}), which the built-in trainer does not implement"));
        }

        var epsilon = file.GetNumber("llama.attention.layer_norm_rms_epsilon")
            ?? throw Unsupported(path, "llama.attention.layer_norm_rms_epsilon is missing");
        var ropeBase = file.GetNumber("llama.rope.freq_base") ?? 10000.0;

        // llama.cpp reads llama.attention.scale for Granite only; a llama model's scores are always scaled by 1/sqrt(d).
        var scale = 1f / MathF.Sqrt(headSize);
        var embeddingTensor = file.Tensors.FirstOrDefault(t => t.Name == "token_embd.weight");
        if (embeddingTensor is null || embeddingTensor.Dimensions.Count != 2 || embeddingTensor.Dimensions[1] > int.MaxValue)
        {
            throw Unsupported(path, "token_embd.weight is not a matrix");
        }

        var tied = file.Tensors.All(t => t.Name != "output.weight");
        return new ModelConfig(embedding, blocks, heads, feedForward, (int)embeddingTensor.Dimensions[1], (float)epsilon, (float)ropeBase, scale, tied);
    }

    private static TrainingException Unsupported(string path, string detail) => new(path, TrainingProblem.UnsupportedModel, detail);

    private static string TypeName(uint type) => type switch
    {
        1 => "F16",
        2 => "Q4_0",
        3 => "Q4_1",
        6 => "Q5_0",
        7 => "Q5_1",
        8 => "Q8_0",
        10 => "Q2_K",
        11 => "Q3_K",
        12 => "Q4_K",
        13 => "Q5_K",
        14 => "Q6_K",
        30 => "BF16",
        _ => type.ToString(CultureInfo.InvariantCulture),
    };
}
