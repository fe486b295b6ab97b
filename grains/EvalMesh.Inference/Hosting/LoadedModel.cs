using System.Text;
using EvalMesh.Inference.Gguf;
using LLama;
using LLama.Common;
using LLama.Native;

namespace EvalMesh.Inference.Hosting;

/// <summary>
/// A base model loaded once, with one context whose KV cache holds the cached shared prefix in sequence 0 and the
/// batch's sequences in 1..n. Only the model host's scheduler thread uses it.
/// </summary>
internal sealed class LoadedModel : IDisposable
{
    public const int PrefixSequence = 0;

    private readonly LLamaBatch _prefixBatch = new();
    private LoraAdapter? _adapter;
    private int[]? _prefix;

    private LoadedModel(ModelFileInfo info, LLamaWeights weights, LLamaContext context)
    {
        Info = info;
        Weights = weights;
        Context = context;
    }

    public ModelFileInfo Info { get; }

    public LLamaWeights Weights { get; }

    public LLamaContext Context { get; }

    public SafeLLamaContextHandle Native => Context.NativeHandle;

    public static LoadedModel Load(ModelFileInfo info, ModelHostOptions options)
    {
        var parameters = new ModelParams(info.Path)
        {
            ContextSize = (uint)options.ContextSize,
            BatchSize = (uint)options.BatchSize,
            UBatchSize = (uint)Math.Min(options.BatchSize, 512),
            SeqMax = (uint)(options.MaxBatchSequences + 1),
            Threads = options.Threads,
            BatchThreads = options.Threads,
            GpuLayerCount = 0,
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

            return new LoadedModel(info, weights, weights.CreateContext(parameters));
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

    public int[] Tokenize(string text, bool addBos) =>
        [.. Weights.NativeHandle.Tokenize(text, addBos, special: false, Encoding.UTF8).Select(t => (int)t)];

    /// <summary>Puts this adapter (or none) on the context; a different adapter invalidates every cached KV cell.</summary>
    public void UseAdapter(LoraAdapter? adapter)
    {
        if (ReferenceEquals(adapter, _adapter))
        {
            return;
        }

        if (adapter is null)
        {
            Native.SetLoraAdapters([]);
        }
        else
        {
            Native.SetLoraAdapters([(adapter, 1f)]);
        }

        _adapter = adapter;
        Native.MemoryClear(true);
        _prefix = null;
    }

    /// <summary>Takes an adapter off the context before it is unloaded.</summary>
    public void Detach(LoraAdapter adapter)
    {
        if (ReferenceEquals(adapter, _adapter))
        {
            UseAdapter(null);
        }
    }

    /// <summary>Whether sequence 0 holds exactly these tokens.</summary>
    public bool HoldsPrefix(int[] prefix) => _prefix is not null && _prefix.AsSpan().SequenceEqual(prefix);

    /// <summary>Makes sequence 0 hold exactly <paramref name="prefix"/>; returns whether it already did.</summary>
    public bool EnsurePrefix(int[] prefix, int batchSize)
    {
        if (HoldsPrefix(prefix))
        {
            return true;
        }

        _prefix = null;
        Native.MemorySequenceRemove((LLamaSeqId)PrefixSequence, -1, -1);
        for (var start = 0; start < prefix.Length; start += batchSize)
        {
            _prefixBatch.Clear();
            var end = Math.Min(prefix.Length, start + batchSize);
            for (var i = start; i < end; i++)
            {
                _prefixBatch.Add(prefix[i], i, (LLamaSeqId)PrefixSequence, false);
            }

            Decode(_prefixBatch);
        }

        _prefix = prefix;
        return false;
    }

    /// <summary>Forgets the cached prefix, so that its cells can be reused.</summary>
    public void DropPrefix()
    {
        if (_prefix is not null)
        {
            Native.MemorySequenceRemove((LLamaSeqId)PrefixSequence, -1, -1);
            _prefix = null;
        }
    }

    public int CachedPrefixLength => _prefix?.Length ?? 0;

    public void Decode(LLamaBatch batch)
    {
        var result = Native.Decode(batch);
        if (result != DecodeResult.Ok)
        {
            throw new InferenceException(InferenceProblem.DecodeFailed, $"{Info.Path}: decode failed ({result}) with {batch.TokenCount} tokens in the batch");
        }
    }

    public void Dispose()
    {
        Context.Dispose();
        Weights.Dispose();
    }
}
