using LLama;
using LLama.Native;

namespace EvalMesh.Inference.Hosting;

/// <summary>
/// One llama.cpp context for a base model with one adapter (or none) set on it for its whole life. Its KV cache holds
/// the cached shared prefix in sequence 0 and the running sequences in 1..n, so switching between adapters never
/// throws away another adapter's cached prefix. Only the model host's scheduler thread uses it.
/// </summary>
internal sealed class AdapterContext : IDisposable
{
    public const int PrefixSequence = 0;

    private readonly LLamaBatch _prefixBatch = new();
    private LoraAdapter? _adapter;
    private int[]? _prefix;

    public AdapterContext(LoadedModel model, int maxSequences)
    {
        Model = model;
        Context = model.Weights.CreateContext(model.Parameters);
        FreeIds = new Stack<int>(Enumerable.Range(1, maxSequences).Reverse());
    }

    public LoadedModel Model { get; }

    public LLamaContext Context { get; }

    public SafeLLamaContextHandle Native => Context.NativeHandle;

    /// <summary>The sequences being decoded.</summary>
    public List<Sequence> Active { get; } = [];

    /// <summary>Sequence ids not in use.</summary>
    public Stack<int> FreeIds { get; }

    /// <summary>The adapter lease while sequences run (null for the base model, or while idle).</summary>
    public AdapterCache.Lease? Lease { get; set; }

    /// <summary>When this context last ran a step, for choosing which idle context to close.</summary>
    public long LastUsed { get; set; }

    public int CachedPrefixLength => _prefix?.Length ?? 0;

    /// <summary>Sets this context's adapter; it is set before the first decode and stays (the cache is not reused across adapters).</summary>
    public void UseAdapter(LoraAdapter adapter)
    {
        if (!ReferenceEquals(adapter, _adapter))
        {
            Native.SetLoraAdapters([(adapter, 1f)]);
            _adapter = adapter;
            Reset();
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

        DropPrefix();
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
        _prefix = null;
        Native.MemorySequenceRemove((LLamaSeqId)PrefixSequence, -1, -1);
    }

    /// <summary>Starts a sequence from the cached prefix (or empty) under a fresh id.</summary>
    public void StartSequence(int id, bool fromPrefix)
    {
        Native.MemorySequenceRemove((LLamaSeqId)id, -1, -1);
        if (fromPrefix)
        {
            Native.MemorySequenceCopy((LLamaSeqId)PrefixSequence, (LLamaSeqId)id, 0, -1);
        }
    }

    /// <summary>Ends a sequence and frees its id.</summary>
    public void EndSequence(Sequence sequence)
    {
        Native.MemorySequenceRemove((LLamaSeqId)sequence.Id, -1, -1);
        Active.Remove(sequence);
        FreeIds.Push(sequence.Id);
    }

    /// <summary>Clears everything after a failed decode, which leaves the cache in an unknown state.</summary>
    public void Reset()
    {
        _prefix = null;
        Native.MemoryClear(true);
    }

    public void Decode(LLamaBatch batch)
    {
        var result = Native.Decode(batch);
        if (result != DecodeResult.Ok)
        {
            throw new InferenceException(InferenceProblem.DecodeFailed, $"{Model.Info.Path}: decode failed ({result}) with {batch.TokenCount} tokens in the batch");
        }
    }

    public void Dispose() => Context.Dispose();
}
