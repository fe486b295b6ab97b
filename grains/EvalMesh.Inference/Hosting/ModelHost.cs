using System.Text;
using System.Threading.Channels;
using EvalMesh.Evaluation.Tokenization;
using EvalMesh.Inference.Gguf;
using LLama;
using LLama.Native;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace EvalMesh.Inference.Hosting;

/// <summary>
/// Serves local GGUF models in this process. Base models load once; any number of LoRA adapters are served on a base
/// without reloading it, from a cache bounded by bytes and count. llama.cpp serialises decode calls process-wide, so
/// one scheduler thread does all native work and concurrency comes from batching: concurrent requests for the same
/// base and adapter are decoded together as several sequences of one batch, groups of different adapters take turns,
/// and a shared prompt prefix is decoded once and its KV cache reused.
/// </summary>
public sealed partial class ModelHost : IDisposable
{
    private readonly ModelHostOptions _options;
    private readonly ILogger _logger;
    private readonly Channel<object> _work = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<string, LoadedModel> _models = new(StringComparer.Ordinal);
    private readonly AdapterCache _adapters;
    private readonly List<PendingRequest> _queue = [];
    private readonly LLamaBatch _batch = new();
    private readonly Thread _scheduler;
    private long _promptTokensDecoded;
    private long _tokensGenerated;
    private long _decodeCalls;

    /// <summary>Creates a host and starts its scheduler thread.</summary>
    public ModelHost(IOptions<ModelHostOptions> options, ILogger<ModelHost>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        var validation = new ModelHostOptionsValidator().Validate(null, _options);
        if (validation.Failed)
        {
            throw new OptionsValidationException(ModelHostOptions.Section, typeof(ModelHostOptions), validation.Failures);
        }

        _logger = (ILogger?)logger ?? NullLogger.Instance;
        LlamaRuntime.EnsureConfigured(_logger);
        _adapters = new AdapterCache(_options);
        _adapters.Evicting += adapter =>
        {
            foreach (var model in _models.Values)
            {
                model.Detach(adapter);
            }
        };
        _scheduler = new Thread(Run) { IsBackground = true, Name = "evalmesh-model-host" };
        _scheduler.Start();
    }

    /// <summary>The adapter cache's counters.</summary>
    public AdapterCacheStats AdapterStats => _adapters.Stats;

    /// <summary>Work done so far: prompt tokens decoded (a reused prefix is not decoded again), tokens generated, decode calls.</summary>
    public InferenceStats Stats => new(Interlocked.Read(ref _promptTokensDecoded), Interlocked.Read(ref _tokensGenerated), Interlocked.Read(ref _decodeCalls));

    /// <summary>Raised on the scheduler thread after an adapter is validated and loaded, with how long that took.</summary>
    public event Action<string, TimeSpan>? AdapterLoaded
    {
        add => _adapters.Loaded += value;
        remove => _adapters.Loaded -= value;
    }

    /// <summary>The adapters loaded now.</summary>
    public IReadOnlyList<ResidentAdapter> ResidentAdapters => _adapters.Resident;

    /// <summary>Runs one completion; concurrent calls for the same base and adapter are batched.</summary>
    /// <exception cref="GgufException">The model or adapter file failed validation.</exception>
    /// <exception cref="InferenceException">The request could not be served.</exception>
    public Task<InferenceResult> InferAsync(InferenceRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentOutOfRangeException.ThrowIfLessThan(request.Options.MaxTokens, 1);
        var pending = new PendingRequest(request, cancellationToken);
        if (!_work.Writer.TryWrite(pending))
        {
            throw new InferenceException(InferenceProblem.Stopped, "the model host is shutting down");
        }

        return pending.Task;
    }

    /// <summary>A token counter for a model's own vocabulary, named after the model file (such as <c>tiny-llama</c>).</summary>
    public Task<ITokenCounter> GetTokenCounterAsync(string model, CancellationToken cancellationToken = default) =>
        RunOnSchedulerAsync(() => (ITokenCounter)new LlamaTokenCounter(Path.GetFileNameWithoutExtension(model), GetModel(Path.GetFullPath(model))), cancellationToken);

    /// <summary>Loads a base model now, so that the first request does not pay for it.</summary>
    public Task PreloadAsync(string model, CancellationToken cancellationToken = default) =>
        RunOnSchedulerAsync(() => GetModel(Path.GetFullPath(model)), cancellationToken);

    /// <summary>Stops the scheduler; queued requests fail with <see cref="InferenceProblem.Stopped"/>.</summary>
    public void Dispose()
    {
        _work.Writer.TryComplete();
        _scheduler.Join();
        foreach (var model in _models.Values)
        {
            model.Dispose();
        }

        _adapters.Dispose();
    }

    private Task<T> RunOnSchedulerAsync<T>(Func<T> action, CancellationToken cancellationToken)
    {
        var job = new Job<T>(action, cancellationToken);
        return _work.Writer.TryWrite(job) ? job.Task : throw new InferenceException(InferenceProblem.Stopped, "the model host is shutting down");
    }

    private void Run()
    {
        while (true)
        {
            if (_queue.Count == 0 && !_work.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
            {
                break;
            }

            Drain();
            if (_queue.Count > 0)
            {
                RunGroup(_queue[0]);
            }
        }

        foreach (var pending in _queue)
        {
            pending.Fail(new InferenceException(InferenceProblem.Stopped, "the model host stopped"));
        }
    }

    /// <summary>Moves newly arrived requests into the queue and runs jobs; drops requests already cancelled.</summary>
    private void Drain()
    {
        while (_work.Reader.TryRead(out var item))
        {
            switch (item)
            {
                case PendingRequest pending:
                    _queue.Add(pending);
                    break;
                case IJob job:
                    job.Run();
                    break;
            }
        }

        foreach (var cancelled in _queue.Where(p => p.IsFinished).ToList())
        {
            cancelled.Cancel();
            _queue.Remove(cancelled);
        }
    }

    private LoadedModel GetModel(string path)
    {
        if (!_models.TryGetValue(path, out var model))
        {
            var info = GgufValidator.ValidateModel(path);
            model = LoadedModel.Load(info, _options);
            _models[path] = model;
            LogModelLoaded(path, info.Length);
        }

        return model;
    }

    /// <summary>Serves every queued request of one base+adapter group, admitting newcomers as sequences finish.</summary>
    private void RunGroup(PendingRequest head)
    {
        LoadedModel model;
        AdapterCache.Lease? lease = null;
        try
        {
            model = GetModel(head.Request.Model);
            if (head.Request.Adapter is { } adapter)
            {
                lease = _adapters.Acquire(model, adapter);
            }
        }
        catch (Exception ex) when (ex is GgufException or InferenceException or IOException or UnauthorizedAccessException)
        {
            foreach (var failed in _queue.Where(p => p.SameGroup(head)).ToList())
            {
                failed.Fail(ex);
                _queue.Remove(failed);
            }

            return;
        }

        var active = new List<Sequence>();
        var freeIds = new Stack<int>(Enumerable.Range(1, _options.MaxBatchSequences).Reverse());
        try
        {
            model.UseAdapter(lease?.Adapter);
            while (true)
            {
                Drain();
                Admit(model, head, lease, active, freeIds);
                if (active.Count == 0)
                {
                    break;
                }

                Step(model, active, freeIds);
            }
        }
        catch (InferenceException ex)
        {
            foreach (var sequence in active)
            {
                sequence.Pending.Fail(ex);
            }

            // A failed decode leaves the KV cache in an unknown state; start clean.
            model.UseAdapter(null);
            model.Native.MemoryClear(true);
        }
        finally
        {
            lease?.Dispose();
        }
    }

    private void Admit(LoadedModel model, PendingRequest head, AdapterCache.Lease? lease, List<Sequence> active, Stack<int> freeIds)
    {
        foreach (var pending in _queue.Where(p => p.SameGroup(head)).ToList())
        {
            if (freeIds.Count == 0 || (!_options.Batching && active.Count > 0))
            {
                return;
            }

            var request = pending.Request;
            var prefixChars = Math.Clamp(request.PrefixLength, 0, request.Prompt.Length);
            var prefix = prefixChars > 0 ? model.Tokenize(request.Prompt[..prefixChars], addBos: true) : [];
            var rest = model.Tokenize(request.Prompt[prefixChars..], addBos: prefixChars == 0);
            if (rest.Length == 0 && prefix.Length > 0)
            {
                // At least one token must be decoded to get logits.
                (prefix, rest) = (prefix[..^1], [prefix[^1]]);
            }

            var promptTokens = prefix.Length + rest.Length;
            var maxTokens = request.Options.MaxTokens;
            if (promptTokens + maxTokens > _options.ContextSize)
            {
                _queue.Remove(pending);
                pending.Fail(new InferenceException(InferenceProblem.ContextOverflow,
                    $"the prompt has {promptTokens} tokens and up to {maxTokens} more may be generated, which exceeds the context window of {_options.ContextSize} tokens"));
                continue;
            }

            var reuse = _options.PrefixReuse && prefix.Length > 0;
            var samePrefix = reuse && model.HoldsPrefix(prefix);
            if (reuse && !samePrefix && active.Count > 0)
            {
                // Another prefix is in use by running sequences; this request waits for them to finish.
                return;
            }

            var cellsInUse = active.Sum(s => s.Reserved) + (reuse ? prefix.Length : model.CachedPrefixLength);
            var needed = (reuse ? rest.Length : promptTokens) + maxTokens;
            if (cellsInUse + needed > _options.ContextSize)
            {
                if (active.Count > 0)
                {
                    return;
                }

                model.DropPrefix();
            }

            var id = freeIds.Pop();
            model.Native.MemorySequenceRemove((LLamaSeqId)id, -1, -1);
            int[] toFeed;
            int position;
            var reused = false;
            if (reuse)
            {
                reused = model.EnsurePrefix(prefix, _options.BatchSize);
                if (!reused)
                {
                    Interlocked.Add(ref _promptTokensDecoded, prefix.Length);
                }

                model.Native.MemorySequenceCopy((LLamaSeqId)LoadedModel.PrefixSequence, (LLamaSeqId)id, 0, -1);
                (toFeed, position) = (rest, prefix.Length);
            }
            else
            {
                (toFeed, position) = ([.. prefix, .. rest], 0);
            }

            var decoder = new StreamingTokenDecoder(Encoding.UTF8, model.Weights);
            active.Add(new Sequence(pending, id, promptTokens, toFeed, position, needed, decoder, lease?.WasResident ?? true, reused));
            _queue.Remove(pending);
        }
    }

    private void Step(LoadedModel model, List<Sequence> active, Stack<int> freeIds)
    {
        foreach (var cancelled in active.Where(s => s.Pending.IsFinished).ToList())
        {
            Finish(model, active, freeIds, cancelled, null);
        }

        if (active.Count == 0)
        {
            return;
        }

        _batch.Clear();
        var budget = _options.BatchSize;
        var sampling = new List<Sequence>();
        var promptTokens = 0;
        foreach (var sequence in active)
        {
            if (budget == 0)
            {
                break;
            }

            var last = sequence.Remaining <= budget;
            var tokens = sequence.Take(budget, out var position);
            promptTokens += sequence.Generated == 0 ? tokens.Length : 0;
            for (var i = 0; i < tokens.Length; i++)
            {
                var index = _batch.Add(tokens[i], position + i, (LLamaSeqId)sequence.Id, last && i == tokens.Length - 1);
                if (last && i == tokens.Length - 1)
                {
                    sequence.BatchIndex = index;
                    sampling.Add(sequence);
                }
            }

            budget -= tokens.Length;
        }

        model.Decode(_batch);
        Interlocked.Increment(ref _decodeCalls);
        Interlocked.Add(ref _promptTokensDecoded, promptTokens);
        Interlocked.Add(ref _tokensGenerated, sampling.Count);
        var eos = model.Weights.Vocab.EOS;
        var eot = model.Weights.Vocab.EOT;
        foreach (var sequence in sampling)
        {
            if (sequence.Generated == 0)
            {
                sequence.BatchSize = sampling.Count;
            }

            var token = sequence.Sample(model.Native.GetLogitsIth(sequence.BatchIndex));
            var end = (eos is { } e && token == (int)e) || (eot is { } t && token == (int)t);
            if (sequence.Accept(token, end) is { } reason)
            {
                Finish(model, active, freeIds, sequence, reason);
            }
        }
    }

    private static void Finish(LoadedModel model, List<Sequence> active, Stack<int> freeIds, Sequence sequence, string? reason)
    {
        model.Native.MemorySequenceRemove((LLamaSeqId)sequence.Id, -1, -1);
        active.Remove(sequence);
        freeIds.Push(sequence.Id);
        if (reason is null)
        {
            sequence.Pending.Cancel();
        }
        else
        {
            sequence.Pending.Complete(sequence.Result(reason));
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Loaded model {Path} ({Bytes} bytes)")]
    private partial void LogModelLoaded(string path, long bytes);

    private interface IJob
    {
        void Run();
    }

    private sealed class Job<T>(Func<T> action, CancellationToken cancellationToken) : IJob
    {
        private readonly TaskCompletionSource<T> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<T> Task => _completion.Task;

        public void Run()
        {
            if (cancellationToken.IsCancellationRequested)
            {
                _completion.TrySetCanceled(cancellationToken);
                return;
            }

            try
            {
                _completion.TrySetResult(action());
            }
            catch (Exception ex)
            {
                _completion.TrySetException(ex);
            }
        }
    }
}
