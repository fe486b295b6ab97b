using System.Text;
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
    }

    public ModelFileInfo Info { get; }

    public LLamaWeights Weights { get; }

    /// <summary>The context parameters every context of this model is created with.</summary>
    public ModelParams Parameters { get; }

    public static LoadedModel Load(ModelFileInfo info, ModelHostOptions options)
    {
        var parameters = new ModelParams(info.Path)
        {
            ContextSize = (uint)options.ContextSize,
            BatchSize = (uint)options.BatchSize,
            UBatchSize = (uint)Math.Min(options.BatchSize, options.MicroBatchSize),
            SeqMax = (uint)(options.MaxBatchSequences + 1),
            Threads = options.Threads,
            BatchThreads = options.Threads,
            GpuLayerCount = options.GpuLayers,
            FlashAttention = options.FlashAttention,
            KVUnified = true,
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

    // Shared prefixes recur for every question of an eval; tokenizing one (tens of KB) costs more than a decode step.
    private readonly List<(string Text, bool Special, int[] Tokens)> _prefixes = [];

    /// <summary>The model's own chat template from its GGUF metadata (<c>tokenizer.chat_template</c>), if it has one.</summary>
    public string? ChatTemplate => Weights.Metadata.TryGetValue("tokenizer.chat_template", out var template) && template.Length > 0 ? template : null;

    /// <summary>Tokenizes text; <paramref name="special"/> parses special tokens (a chat template's markers) as such.</summary>
    public int[] Tokenize(string text, bool addBos, bool special) =>
        [.. Weights.NativeHandle.Tokenize(text, addBos, special, Encoding.UTF8).Select(t => (int)t)];

    /// <summary>Tokenizes a shared prompt prefix (with BOS), remembering the last few.</summary>
    public int[] TokenizePrefix(ReadOnlySpan<char> text, bool special)
    {
        foreach (var (known, parsed, tokens) in _prefixes)
        {
            if (parsed == special && text.SequenceEqual(known))
            {
                return tokens;
            }
        }

        var prefix = text.ToString();
        var result = Tokenize(prefix, addBos: true, special);
        if (_prefixes.Count == 8)
        {
            _prefixes.RemoveAt(0);
        }

        _prefixes.Add((prefix, special, result));
        return result;
    }

    public void Dispose() => Weights.Dispose();
}
