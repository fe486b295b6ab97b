using System.Text;
using EvalMesh.Abstractions;
using LLama;
using LLama.Native;

namespace EvalMesh.Inference.Llama;

/// <summary>What one decode step did.</summary>
/// <param name="PromptTokens">Prompt tokens fed (prompts are fed in chunks of up to the batch size).</param>
/// <param name="Sequences">Sequences that took part.</param>
/// <param name="Sampled">Tokens sampled (one per sequence whose prompt was all fed).</param>
/// <param name="Completed">Requests that ended with this step.</param>
internal readonly record struct StepResult(int PromptTokens, int Sequences, int Sampled, int Completed);

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

    /// <summary>Starts a sequence under a fresh id, sharing the first <paramref name="cached"/> cells of sequence 0.</summary>
    private void StartSequence(int id, int cached)
    {
        Native.MemorySequenceRemove((LLamaSeqId)id, -1, -1);
        if (cached > 0)
        {
            Share(PrefixSequence, id, cached);
        }
    }

    // Whether the context was made with one KV cache for all its sequences (kv_unified) rather than a stream for each.
    private bool KvUnified => Model.Parameters.KVUnified != false;

    // Makes the first cells of one sequence another's too: in one KV cache they are shared; across streams (kv_unified
    // off) llama.cpp copies only a whole stream, so the copy is trimmed after.
    private void Share(int from, int to, int cells)
    {
        if (KvUnified)
        {
            Native.MemorySequenceCopy((LLamaSeqId)from, (LLamaSeqId)to, 0, cells);
            return;
        }

        Native.MemorySequenceCopy((LLamaSeqId)from, (LLamaSeqId)to, -1, -1);
        Native.MemorySequenceRemove((LLamaSeqId)to, cells, -1);
    }

    /// <summary>
    /// Makes a sequence's prompt, now decoded, the cached prompt in sequence 0 (its cells are shared, not copied), so
    /// that the next request that starts the same way decodes only what is new.
    /// </summary>
    private void CachePrompt(Sequence sequence)
    {
        Native.MemorySequenceRemove((LLamaSeqId)PrefixSequence, -1, -1);
        Share(sequence.Id, PrefixSequence, sequence.Prompt.Length);
        _prefix = sequence.Prompt;
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
    /// Starts a request as a sequence of this context's batch; false when it must wait for running ones. The start of
    /// its prompt comes from sequence 0 where it can: a declared shared prefix (an eval's context) is decoded there once
    /// and reused by every request that declares it; any other prompt reuses as much of the last cached prompt as it
    /// has in common (at least <see cref="ModelHostOptions.MinCachedPrefix"/> tokens) and, once decoded, becomes the
    /// cached prompt itself. <paramref name="prefixDecoded"/> is the tokens a declared prefix took to decode (0 when
    /// reused).
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
        var (prompt, declared) = pending.Tokens ??= Tokenize(request);
        var maxTokens = request.Options.MaxTokens;
        if (prompt.Length + maxTokens > options.ContextSize)
        {
            throw new InferenceException(InferenceProblem.ContextOverflow,
                $"the prompt has {prompt.Length} tokens and up to {maxTokens} more may be generated, which exceeds the context window of {options.ContextSize} tokens");
        }

        var (cached, caches) = (0, false);
        if (options.PrefixReuse && declared > 0)
        {
            if (!HoldsPrefix(prompt[..declared]) && Active.Count > 0)
            {
                // Running sequences use the cached prefix; this one starts when they are done.
                return false;
            }

            cached = declared;
        }
        else if (options.PrefixReuse)
        {
            var common = Math.Min(CommonLength(_prefix, prompt), prompt.Length - 1);
            if (Active.Any(s => s.Remaining > 0 && s.CachesPrompt && CommonLength(s.Prompt, prompt) > Math.Max(common, options.MinCachedPrefix - 1)))
            {
                // A running sequence is decoding a prompt that starts like this one and will be cached: wait for it.
                return false;
            }

            (cached, caches) = (common >= options.MinCachedPrefix ? common : 0, true);
        }

        var cellsInUse = Active.Sum(s => s.Reserved) + (declared > 0 && cached > 0 ? declared : CachedPrefixLength);
        var needed = prompt.Length - cached + maxTokens;
        if (KvUnified && cellsInUse + needed > options.ContextSize)
        {
            if (Active.Count > 0)
            {
                return false;
            }

            DropPrefix();
            (cached, needed) = declared > 0 ? (cached, needed) : (0, prompt.Length + maxTokens);
        }

        var id = FreeIds.Pop();
        var reused = cached > 0;
        if (declared > 0 && cached > 0 && !EnsurePrefix(prompt[..declared], options.BatchSize))
        {
            (reused, prefixDecoded) = (false, declared);
        }

        InferenceMetrics.PrefixCacheLookups.WithLabels(reused ? "hit" : "miss").Inc();
        if (reused)
        {
            InferenceMetrics.PrefixCacheSavedTokens.Inc(cached);
        }

        StartSequence(id, cached);
        var decoder = new StreamingTokenDecoder(Encoding.UTF8, Model.Weights);
        Active.Add(new Sequence(pending, id, prompt, cached, reused ? cached : 0, caches, needed, Model.Weights.NativeHandle, decoder, route));
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
        var completed = 0;
        foreach (var sequence in sampling)
        {
            if (sequence.Generated == 0)
            {
                sequence.BatchSize = sampling.Count;
            }

            if (sequence.Generated == 0 && sequence.CachesPrompt)
            {
                CachePrompt(sequence);
            }

            var token = sequence.Sample(Native.GetLogitsIth(sequence.BatchIndex));
            sequence.Pending.CountToken();
            var end = (eos is { } e && token == (int)e) || (eot is { } t && token == (int)t);
            if (sequence.Accept(token, end) is { } reason)
            {
                EndSequence(sequence);
                sequence.Pending.Complete(sequence.Reply(reason));
                completed++;
            }
        }

        return new StepResult(promptTokens, sequences, sampling.Count, completed);
    }

    // A declared shared prefix and the rest are tokenized apart, with or without reuse, so that both paths see the same
    // tokens; at least one token after the prefix must be decoded to get logits.
    private PromptTokens Tokenize(InferenceRequest request)
    {
        var (prefix, rest) = Model.Tokenizer.Tokenize(Model.Tokenizer.Render(request));
        return new PromptTokens([.. prefix, .. rest], rest.Length == 0 ? Math.Max(0, prefix.Length - 1) : prefix.Length);
    }

    private static int CommonLength(int[]? a, int[] b) => a is null ? 0 : a.AsSpan().CommonPrefixLength(b);

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
