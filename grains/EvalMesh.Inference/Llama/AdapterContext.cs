using System.Text;
using EvalMesh.Abstractions;
using LLama;
using LLama.Native;

namespace EvalMesh.Inference.Llama;

/// <summary>What one decode step did.</summary>
/// <param name="PromptTokens">Prompt tokens fed (prompts are fed in chunks of up to the batch size).</param>
/// <param name="Sequences">Sequences that took part.</param>
/// <param name="Sampled">Tokens sampled (one per sequence whose prompt was all fed).</param>
internal readonly record struct StepResult(int PromptTokens, int Sequences, int Sampled);

/// <summary>
/// One llama.cpp context for a base model with one adapter (or none) set on it for its whole life, and the batch of
/// requests it decodes together. Its KV cache holds the cached shared prefix in sequence 0 and the running sequences in
/// 1..n, so switching between adapters never throws away another adapter's cached prefix. Only the model host's
/// scheduler thread uses it.
/// </summary>
internal sealed class AdapterContext : IDisposable
{
    private const int PrefixSequence = 0;

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
    private Stack<int> FreeIds { get; }

    /// <summary>The adapter lease while sequences run (null for the base model, or while idle).</summary>
    public AdapterCache.Lease? Lease { get; set; }

    /// <summary>When this context last ran a step, for choosing which idle context to close.</summary>
    public long LastUsed { get; set; }

    private int CachedPrefixLength => _prefix?.Length ?? 0;

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
    private bool HoldsPrefix(int[] prefix) => _prefix is not null && _prefix.AsSpan().SequenceEqual(prefix);

    /// <summary>Makes sequence 0 hold exactly <paramref name="prefix"/>; returns whether it already did.</summary>
    private bool EnsurePrefix(int[] prefix, int batchSize)
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
    private void DropPrefix()
    {
        _prefix = null;
        Native.MemorySequenceRemove((LLamaSeqId)PrefixSequence, -1, -1);
    }

    /// <summary>Starts a sequence from the cached prefix (or empty) under a fresh id.</summary>
    private void StartSequence(int id, bool fromPrefix)
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

    /// <summary>
    /// Starts a request as a sequence of this context's batch; false when it must wait for running ones.
    /// <paramref name="prefixDecoded"/> is the prompt tokens its shared prefix took to decode (0 when reused).
    /// </summary>
    /// <exception cref="InferenceException">The prompt and its token budget do not fit the context.</exception>
    public bool TryStart(PendingRequest pending, InferenceRoute route, ModelHostOptions options, out int prefixDecoded)
    {
        prefixDecoded = 0;
        if (FreeIds.Count == 0)
        {
            return false;
        }

        var request = pending.Request;
        var (prefix, rest) = pending.Tokens ??= Tokenize(request);
        var promptTokens = prefix.Length + rest.Length;
        var maxTokens = request.Options.MaxTokens;
        if (promptTokens + maxTokens > options.ContextSize)
        {
            throw new InferenceException(InferenceProblem.ContextOverflow,
                $"the prompt has {promptTokens} tokens and up to {maxTokens} more may be generated, which exceeds the context window of {options.ContextSize} tokens");
        }

        var reuse = options.PrefixReuse && prefix.Length > 0;
        if (reuse && !HoldsPrefix(prefix) && Active.Count > 0)
        {
            // Running sequences use the cached prefix; this one starts when they are done.
            return false;
        }

        var cellsInUse = Active.Sum(s => s.Reserved) + (reuse ? prefix.Length : CachedPrefixLength);
        var needed = (reuse ? rest.Length : promptTokens) + maxTokens;
        if (cellsInUse + needed > options.ContextSize)
        {
            if (Active.Count > 0)
            {
                return false;
            }

            DropPrefix();
        }

        var id = FreeIds.Pop();
        var reused = false;
        if (reuse)
        {
            reused = EnsurePrefix(prefix, options.BatchSize);
            prefixDecoded = reused ? 0 : prefix.Length;
        }

        StartSequence(id, fromPrefix: reuse);
        var (toFeed, position) = reuse ? (rest, prefix.Length) : ([.. prefix, .. rest], 0);
        var decoder = new StreamingTokenDecoder(Encoding.UTF8, Model.Weights);
        Active.Add(new Sequence(pending, id, promptTokens, toFeed, position, needed, Model.Weights.NativeHandle, decoder, route, reused));
        return true;
    }

    /// <summary>
    /// One decode step of the batch: ends cancelled sequences, feeds up to <paramref name="budget"/> tokens of the running
    /// sequences into <paramref name="batch"/>, decodes, and samples a token for each sequence whose prompt is all fed;
    /// finished sequences complete their requests.
    /// </summary>
    public StepResult Step(LLamaBatch batch, int budget)
    {
        foreach (var cancelled in Active.Where(s => s.Pending.IsFinished).ToList())
        {
            EndSequence(cancelled);
            cancelled.Pending.Cancel();
        }

        if (Active.Count == 0)
        {
            return default;
        }

        batch.Clear();
        var sampling = new List<Sequence>();
        var promptTokens = 0;
        var sequences = 0;
        foreach (var sequence in Active)
        {
            if (budget == 0)
            {
                break;
            }

            sequences++;
            var last = sequence.Remaining <= budget;
            var tokens = sequence.Take(budget, out var position);
            promptTokens += sequence.Generated == 0 ? tokens.Length : 0;
            for (var i = 0; i < tokens.Length; i++)
            {
                var index = batch.Add(tokens[i], position + i, (LLamaSeqId)sequence.Id, last && i == tokens.Length - 1);
                if (last && i == tokens.Length - 1)
                {
                    sequence.BatchIndex = index;
                    sampling.Add(sequence);
                }
            }

            budget -= tokens.Length;
        }

        Decode(batch);
        var vocabulary = Model.Weights.Vocab;
        var (eos, eot) = (vocabulary.EOS, vocabulary.EOT);
        foreach (var sequence in sampling)
        {
            if (sequence.Generated == 0)
            {
                sequence.BatchSize = sampling.Count;
            }

            var token = sequence.Sample(Native.GetLogitsIth(sequence.BatchIndex));
            sequence.Pending.CountToken();
            var end = (eos is { } e && token == (int)e) || (eot is { } t && token == (int)t);
            if (sequence.Accept(token, end) is { } reason)
            {
                EndSequence(sequence);
                sequence.Pending.Complete(sequence.Reply(reason));
            }
        }

        return new StepResult(promptTokens, sequences, sampling.Count);
    }

    // A shared prefix and the rest are tokenized apart, with or without reuse, so that both paths see the same tokens.
    private (int[] Prefix, int[] Question) Tokenize(InferenceRequest request)
    {
        var prefixChars = Math.Clamp(request.PrefixLength, 0, request.Prompt.Length);
        var prefix = prefixChars > 0 ? Model.TokenizePrefix(request.Prompt.AsSpan(0, prefixChars)) : [];
        var rest = Model.Tokenize(request.Prompt[prefixChars..], addBos: prefixChars == 0);

        // At least one token must be decoded to get logits.
        return rest.Length == 0 && prefix.Length > 0 ? (prefix[..^1], [prefix[^1]]) : (prefix, rest);
    }

    private void Decode(LLamaBatch batch)
    {
        var result = Native.Decode(batch);
        if (result != DecodeResult.Ok)
        {
            throw new InferenceException(InferenceProblem.DecodeFailed, $"{Model.Info.Path}: decode failed ({result}) with {batch.TokenCount} tokens in the batch");
        }
    }

    public void Dispose() => Context.Dispose();
}
