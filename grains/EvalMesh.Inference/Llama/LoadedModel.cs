using EvalMesh.Inference.Gguf;
using LLama;
using LLama.Common;

namespace EvalMesh.Inference.Llama;

/// <summary>A base model's weights, loaded once and shared by the contexts of all its adapters.</summary>
internal sealed class LoadedModel : IDisposable
{
    private LoadedModel(ModelFileInfo info, LLamaWeights weights, ModelParams parameters)
    {
        Info = info;
        Weights = weights;
        Parameters = parameters;
        Tokenizer = new PromptTokenizer(weights, Path.GetFileName(info.Path));
    }

    public ModelFileInfo Info { get; }

    public LLamaWeights Weights { get; }

    /// <summary>The context parameters every context of this model is created with.</summary>
    public ModelParams Parameters { get; }

    public static LoadedModel Load(ModelFileInfo info, ModelHostOptions options)
    {
        var unified = options.KvUnified ?? !FitsStreams(info, options);
        var parameters = new ModelParams(info.Path)
        {
            ContextSize = (uint)(unified ? options.ContextSize : options.ContextSize * (options.MaxBatchSequences + 1)),
            BatchSize = (uint)options.BatchSize,
            UBatchSize = (uint)Math.Min(options.BatchSize, options.MicroBatchSize),
            SeqMax = (uint)(options.MaxBatchSequences + 1),
            Threads = options.Threads,
            BatchThreads = options.Threads,
            GpuLayerCount = options.GpuLayers,
            FlashAttention = options.FlashAttention,
            KVUnified = unified,
        };
        LLamaWeights? weights = null;
        try
        {
            weights = LLamaWeights.LoadFromFile(parameters);
            var current = new FileInfo(info.Path);
            if (current.Length != info.Length || current.LastWriteTimeUtc != info.LastWrite)
            {
                throw new GgufException(info.Path, GgufProblem.ChangedWhileLoading, "the file changed between validation and loading");
            }

            return new LoadedModel(info, weights, parameters);
        }
        catch (Exception ex) when (ex is LLama.Exceptions.RuntimeError or InvalidOperationException)
        {
            weights?.Dispose();
            throw new InferenceException(InferenceProblem.ModelLoadFailed, $"{info.Path}: llama.cpp could not load the model: {ex.Message}", ex);
        }
        catch
        {
            weights?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Whether a stream per sequence (and one for the cached prompt) takes at most
    /// <see cref="ModelHostOptions.KvStreamBudgetBytes"/>: each cell holds every layer's key and value (16 bits an
    /// element), as wide as its <c>attn_k</c> and <c>attn_v</c> weights' outputs. A model without them gets one cache.
    /// </summary>
    internal static bool FitsStreams(ModelFileInfo info, ModelHostOptions options)
    {
        var bytesPerCell = 2 * info.Tensors.Values
            .Where(t => t.Dimensions.Count == 2 && (t.Name.EndsWith(".attn_k.weight", StringComparison.Ordinal) || t.Name.EndsWith(".attn_v.weight", StringComparison.Ordinal)))
            .Sum(t => (long)t.Dimensions[1]);
        var cells = (long)options.ContextSize * (options.MaxBatchSequences + 1);
        return bytesPerCell > 0 && cells <= int.MaxValue && bytesPerCell * cells <= options.KvStreamBudgetBytes;
    }

    /// <summary>The model's tokenizer as its prompts use it.</summary>
    public PromptTokenizer Tokenizer { get; }

    public void Dispose() => Weights.Dispose();
}
