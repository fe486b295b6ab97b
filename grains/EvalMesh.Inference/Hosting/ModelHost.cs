using System.Diagnostics;
using System.Runtime.CompilerServices;
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
/// one scheduler thread does all native work and concurrency comes from batching: each base+adapter has its own
/// context, concurrent requests for it are decoded together as sequences of one batch (joining as others finish), the
/// contexts take turns step by step, and each context decodes a shared prompt prefix once and reuses its KV cache.
/// </summary>
public sealed partial class ModelHost : IDisposable
{
    private readonly ModelHostOptions _options;
    private readonly ILogger _logger;
    private readonly Channel<object> _work = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<string, LoadedModel> _models = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Model, string? Adapter), AdapterContext> _contexts = [];
    private readonly AdapterCache _adapters;
    private readonly List<PendingRequest> _queue = [];
    private readonly LLamaBatch _batch = new();
    private readonly Thread _scheduler;
    private long _promptTokensDecoded;
    private long _tokensGenerated;
    private long _decodeCalls;
    private long _clock;
    private double _stepSeconds;

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

        // An adapter is only evicted when no sequence holds it, so its context is idle and can go with it.
        _adapters.Evicting += (model, adapter) =>
        {
            Close((model, adapter));
            ResidencyChanged?.Invoke();
        };
        _adapters.Loaded += (_, _) => ResidencyChanged?.Invoke();
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

    /// <summary>Raised when an adapter is loaded, evicted or released, so that the cluster can be told at once.</summary>
    public event Action? ResidencyChanged;

    /// <summary>The adapters loaded now.</summary>
    public IReadOnlyList<ResidentAdapter> ResidentAdapters => _adapters.Resident;

    /// <summary>Runs one completion; concurrent calls for the same base and adapter are batched.</summary>
    /// <exception cref="GgufException">The model or adapter file failed validation.</exception>
    /// <exception cref="InferenceException">The request could not be served.</exception>
    public Task<InferenceResult> InferAsync(InferenceRequest request, CancellationToken cancellationToken = default) => InferAsync(request, null, cancellationToken);

    /// <summary>
    /// Runs one completion like <see cref="InferAsync(InferenceRequest, CancellationToken)"/> and yields its text as it is
    /// generated (text that could still become a stop sequence waits until it cannot), then the result. Leaving the
    /// enumeration early stops the generation at the next decode step.
    /// </summary>
    public async IAsyncEnumerable<InferenceUpdate> StreamAsync(InferenceRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var pieces = Channel.CreateUnbounded<InferenceUpdate>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        using var generation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var result = InferAsync(request, piece => pieces.Writer.TryWrite(piece), generation.Token);
        _ = result.ContinueWith(_ => pieces.Writer.TryComplete(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        try
        {
            await foreach (var piece in pieces.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return piece;
            }

            yield return new InferenceUpdate(string.Empty, await result.ConfigureAwait(false));
        }
        finally
        {
            await generation.CancelAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Runs one completion; <paramref name="onText"/> is called on the scheduler thread with each new piece of its text.</summary>
    internal Task<InferenceResult> InferAsync(InferenceRequest request, Action<InferenceUpdate>? onText, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentOutOfRangeException.ThrowIfLessThan(request.Options.MaxTokens, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(request.Options.TopLogprobs ?? 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(request.Options.TopLogprobs ?? 0, GenerationOptions.MaxTopLogprobs);
        var pending = new PendingRequest(request, onText, cancellationToken);
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

    /// <summary>
    /// Loads an adapter into the cache now (validated), so that its first request finds it resident, if it fits without
    /// evicting anything: a guess about upcoming work never pushes out an adapter that running work may still need.
    /// </summary>
    /// <returns>Whether it was already resident.</returns>
    public Task<bool> PrefetchAsync(string model, string adapter, CancellationToken cancellationToken = default) =>
        RunOnSchedulerAsync(() =>
        {
            var loaded = GetModel(Path.GetFullPath(model));
            if (!_adapters.IsResident(model, adapter) && !_adapters.HasRoomFor(adapter))
            {
                return false;
            }

            using var lease = _adapters.Acquire(loaded, adapter);
            return lease.WasResident;
        }, cancellationToken);

    /// <summary>Unloads an adapter now unless a request is using it; returns whether it was unloaded.</summary>
    public Task<bool> EvictAsync(string model, string adapter, CancellationToken cancellationToken = default) =>
        RunOnSchedulerAsync(() => _adapters.Evict(model, adapter), cancellationToken);

    /// <summary>Marks an adapter as no longer needed by whoever asked for it lately: it is the first to make room.</summary>
    public void Release(string model, string adapter)
    {
        _adapters.Release(model, adapter);
        ResidencyChanged?.Invoke();
    }

    /// <summary>Requests waiting or running per base model and adapter (null for the base alone).</summary>
    public Task<IReadOnlyDictionary<(string Model, string? Adapter), int>> GetQueueDepthsAsync(CancellationToken cancellationToken = default) =>
        RunOnSchedulerAsync<IReadOnlyDictionary<(string Model, string? Adapter), int>>(() =>
        {
            var depths = new Dictionary<(string Model, string? Adapter), int>();
            foreach (var pending in _queue)
            {
                var key = (pending.Request.Model, pending.Request.Adapter);
                depths[key] = depths.GetValueOrDefault(key) + 1;
            }

            foreach (var (key, context) in _contexts)
            {
                depths[key] = depths.GetValueOrDefault(key) + context.Active.Count;
            }

            return depths;
        }, cancellationToken);

    /// <summary>Whether an adapter is loaded for a base model now.</summary>
    public bool IsResident(string model, string adapter) => _adapters.IsResident(model, adapter);

    /// <summary>The most adapters this host keeps loaded.</summary>
    public int AdapterCapacity => _options.MaxAdapters;

    /// <summary>Loads, hits, misses and evictions per adapter.</summary>
    public IReadOnlyDictionary<(string Model, string Adapter), AdapterCounters> AdapterCounters => _adapters.Counters();

    /// <summary>How often an adapter has been asked for here lately, also once evicted (a ghost count).</summary>
    public int FrequencyOf(string model, string adapter) => _adapters.FrequencyOf(model, adapter);

    /// <summary>
    /// How the rest of the cluster sees adapters: this host evicts a surplus copy first, else the adapter whose count
    /// here plus the others' is lowest, the least used cluster-wide, so that it evicts what the cluster's placement
    /// expects. Replaces the previous view.
    /// </summary>
    public void SetElsewhere(IReadOnlyDictionary<(string Model, string Adapter), Elsewhere> view)
    {
        ArgumentNullException.ThrowIfNull(view);
        _adapters.SetElsewhere(view);
    }

    /// <summary>Stops the scheduler; queued requests fail with <see cref="InferenceProblem.Stopped"/>.</summary>
    public void Dispose()
    {
        _work.Writer.TryComplete();
        _scheduler.Join();
        foreach (var context in _contexts.Values)
        {
            context.Dispose();
        }

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
        var turn = 0;
        while (true)
        {
            var busy = _contexts.Values.Where(c => c.Active.Count > 0).ToList();
            InferenceMetrics.Queue.WithLabels("waiting").Set(_queue.Count);
            InferenceMetrics.Queue.WithLabels("running").Set(busy.Sum(c => c.Active.Count));
            if (busy.Count == 0 && _queue.Count == 0 && !_work.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
            {
                break;
            }

            Drain();
            Admit();
            busy = [.. _contexts.Values.Where(c => c.Active.Count > 0)];
            if (busy.Count == 0)
            {
                continue;
            }

            // Contexts take turns step by step, so that no adapter waits for another's whole queue.
            var context = busy[turn++ % busy.Count];
            var started = Stopwatch.GetTimestamp();
            try
            {
                Step(context);
            }
            catch (InferenceException ex)
            {
                foreach (var sequence in context.Active.ToList())
                {
                    context.EndSequence(sequence);
                    sequence.Pending.Fail(ex);
                }

                context.Reset();
            }

            // A moving average of a step's time, from the first step on, for how long running requests may take (EndsWithin).
            var took = Stopwatch.GetElapsedTime(started).TotalSeconds;
            _stepSeconds = _stepSeconds == 0 ? took : _stepSeconds + ((took - _stepSeconds) / 16);
            if (context.Active.Count == 0 && context.Lease is { } lease)
            {
                context.Lease = null;
                lease.Dispose();
            }
        }

        foreach (var pending in _queue.Concat(_contexts.Values.SelectMany(c => c.Active).Select(s => s.Pending)))
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

    /// <summary>Admits queued requests into their contexts' batches, opening contexts and loading adapters as needed.</summary>
    private void Admit()
    {
        foreach (var pending in _queue.ToList())
        {
            if (!_options.Batching && _contexts.Values.Any(c => c.Active.Count > 0))
            {
                return;
            }

            var key = (pending.Request.Model, pending.Request.Adapter);
            try
            {
                if (key.Adapter is { } wanted && _contexts.GetValueOrDefault(key)?.Lease is null)
                {
                    if (!_adapters.MakeRoom(key.Model, wanted, (model, busy) => pending.Waited < _options.VictimWait && EndsWithin((model, busy), _options.VictimWait)))
                    {
                        pending.WaitForRoom();
                        continue;
                    }

                    pending.RoomMade();
                }

                if (!_contexts.TryGetValue(key, out var context))
                {
                    if (!MakeRoomForContext())
                    {
                        continue;
                    }

                    context = new AdapterContext(GetModel(key.Model), _options.MaxBatchSequences);
                    _contexts[key] = context;
                }

                var wasResident = true;
                if (key.Adapter is { } adapter && context.Lease is null)
                {
                    var lease = _adapters.Acquire(context.Model, adapter);
                    context.Lease = lease;
                    context.UseAdapter(lease.Adapter);
                    wasResident = lease.WasResident;
                }

                if (TryAdmit(context, pending, wasResident))
                {
                    _queue.Remove(pending);
                    if (key.Adapter is { } served)
                    {
                        _adapters.Served(context.Model.Info.Path, served, wasResident);
                    }
                }
            }
            catch (Exception ex) when (ex is GgufException or InferenceException or IOException or UnauthorizedAccessException)
            {
                _queue.Remove(pending);
                pending.Fail(ex);
            }
        }
    }

    /// <summary>
    /// Whether the requests running with an adapter will have ended within <paramref name="time"/> even if they use their
    /// whole token budgets: the busy contexts take turns, one step each at about the usual step's time.
    /// </summary>
    private bool EndsWithin((string Model, string? Adapter) key, TimeSpan time)
    {
        var steps = _contexts.TryGetValue(key, out var context) ? context.Active.Select(s => s.StepsLeft).DefaultIfEmpty().Max() : 0;
        var turns = _contexts.Values.Count(c => c.Active.Count > 0);
        return steps * turns * _stepSeconds <= time.TotalSeconds;
    }

    /// <summary>Closes the least recently used idle context when the limit is reached; false when all are busy.</summary>
    private bool MakeRoomForContext()
    {
        if (_contexts.Count < _options.MaxContexts)
        {
            return true;
        }

        var idle = _contexts.Where(c => c.Value.Active.Count == 0).OrderBy(c => c.Value.LastUsed).FirstOrDefault();
        if (idle.Value is null)
        {
            return false;
        }

        Close(idle.Key);
        return true;
    }

    private void Close((string Model, string? Adapter) key)
    {
        if (_contexts.Remove(key, out var context))
        {
            context.Lease?.Dispose();
            context.Dispose();
        }
    }

    /// <summary>Starts a request as a sequence of its context's batch; false when it must wait for running ones.</summary>
    private bool TryAdmit(AdapterContext context, PendingRequest pending, bool wasResident)
    {
        if (context.FreeIds.Count == 0)
        {
            return false;
        }

        var request = pending.Request;
        var model = context.Model;
        var (prefix, rest) = pending.Tokens ??= Tokenize(model, request);
        var promptTokens = prefix.Length + rest.Length;
        var maxTokens = request.Options.MaxTokens;
        if (promptTokens + maxTokens > _options.ContextSize)
        {
            throw new InferenceException(InferenceProblem.ContextOverflow,
                $"the prompt has {promptTokens} tokens and up to {maxTokens} more may be generated, which exceeds the context window of {_options.ContextSize} tokens");
        }

        var reuse = _options.PrefixReuse && prefix.Length > 0;
        if (reuse && !context.HoldsPrefix(prefix) && context.Active.Count > 0)
        {
            // Running sequences use the cached prefix; this one starts when they are done.
            return false;
        }

        var cellsInUse = context.Active.Sum(s => s.Reserved) + (reuse ? prefix.Length : context.CachedPrefixLength);
        var needed = (reuse ? rest.Length : promptTokens) + maxTokens;
        if (cellsInUse + needed > _options.ContextSize)
        {
            if (context.Active.Count > 0)
            {
                return false;
            }

            context.DropPrefix();
        }

        var id = context.FreeIds.Pop();
        var reused = false;
        if (reuse)
        {
            reused = context.EnsurePrefix(prefix, _options.BatchSize);
            if (!reused)
            {
                CountPromptTokens(model, prefix.Length);
            }
        }

        context.StartSequence(id, fromPrefix: reuse);
        var (toFeed, position) = reuse ? (rest, prefix.Length) : ([.. prefix, .. rest], 0);
        var decoder = new StreamingTokenDecoder(Encoding.UTF8, model.Weights);
        context.Active.Add(new Sequence(pending, id, promptTokens, toFeed, position, needed, model.Weights.NativeHandle, decoder, wasResident, reused));
        return true;
    }

    // A shared prefix and the rest are tokenized apart, with or without reuse, so that both paths see the same tokens.
    private static (int[] Prefix, int[] Question) Tokenize(LoadedModel model, InferenceRequest request)
    {
        var prefixChars = Math.Clamp(request.PrefixLength, 0, request.Prompt.Length);
        var prefix = prefixChars > 0 ? model.TokenizePrefix(request.Prompt.AsSpan(0, prefixChars)) : [];
        var rest = model.Tokenize(request.Prompt[prefixChars..], addBos: prefixChars == 0);

        // At least one token must be decoded to get logits.
        return rest.Length == 0 && prefix.Length > 0 ? (prefix[..^1], [prefix[^1]]) : (prefix, rest);
    }

    private void Step(AdapterContext context)
    {
        context.LastUsed = ++_clock;
        foreach (var cancelled in context.Active.Where(s => s.Pending.IsFinished).ToList())
        {
            context.EndSequence(cancelled);
            cancelled.Pending.Cancel();
        }

        if (context.Active.Count == 0)
        {
            return;
        }

        _batch.Clear();
        var budget = _options.BatchSize;
        var sampling = new List<Sequence>();
        var promptTokens = 0;
        var sequences = 0;
        foreach (var sequence in context.Active)
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
                var index = _batch.Add(tokens[i], position + i, (LLamaSeqId)sequence.Id, last && i == tokens.Length - 1);
                if (last && i == tokens.Length - 1)
                {
                    sequence.BatchIndex = index;
                    sampling.Add(sequence);
                }
            }

            budget -= tokens.Length;
        }

        context.Decode(_batch);
        Interlocked.Increment(ref _decodeCalls);
        CountPromptTokens(context.Model, promptTokens);
        Interlocked.Add(ref _tokensGenerated, sampling.Count);
        InferenceMetrics.BatchSequences.Observe(sequences);
        var vocabulary = context.Model.Weights.Vocab;
        var (eos, eot) = (vocabulary.EOS, vocabulary.EOT);
        foreach (var sequence in sampling)
        {
            if (sequence.Generated == 0)
            {
                sequence.BatchSize = sampling.Count;
            }

            var token = sequence.Sample(context.Native.GetLogitsIth(sequence.BatchIndex));
            sequence.Pending.CountToken();
            var end = (eos is { } e && token == (int)e) || (eot is { } t && token == (int)t);
            if (sequence.Accept(token, end) is { } reason)
            {
                context.EndSequence(sequence);
                sequence.Pending.Complete(sequence.Result(reason));
            }
        }
    }

    private void CountPromptTokens(LoadedModel model, int tokens)
    {
        Interlocked.Add(ref _promptTokensDecoded, tokens);
        InferenceMetrics.PromptTokens.WithLabels(InferenceMetrics.Label(model.Info.Path)).Inc(tokens);
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
