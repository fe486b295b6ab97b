using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Threading.Channels;
using EvalMesh.Abstractions;
using EvalMesh.Inference.Gguf;
using LLama;
using LLama.Native;
using Microsoft.Extensions.Logging;

namespace EvalMesh.Inference.Llama;

/// <summary>
/// The model host's one native thread. llama.cpp serialises decode calls process-wide, so this thread does all native
/// work (loading models and adapters, decoding) and concurrency comes from batching: each base+adapter has its own
/// context, concurrent requests for it are decoded together as sequences of one batch (joining as others finish), the
/// contexts take turns step by step, and each context decodes a shared prompt prefix once and reuses its KV cache.
/// Everything here but <see cref="Stats"/> and posting work is used on that thread only.
/// </summary>
internal sealed partial class BatchScheduler : IDisposable
{
    private readonly ModelHostOptions _options;
    private readonly AdapterCache _adapters;
    private readonly ILogger _logger;
    private readonly Channel<object> _work = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<string, LoadedModel> _models = new(StringComparer.Ordinal);
    private readonly Dictionary<ModelFiles, AdapterContext> _contexts = [];
    private readonly List<PendingRequest> _queue = [];
    private readonly ConcurrentDictionary<string, int> _waiting = new(StringComparer.Ordinal);
    private readonly LLamaBatch _batch = new();
    private readonly Thread _thread;
    private long _promptTokensDecoded;
    private long _tokensGenerated;
    private long _decodeCalls;
    private long _clock;
    private double _stepSeconds;
    private double _sinceCompletion;
    private double _secondsPerCompletion;

    public BatchScheduler(ModelHostOptions options, AdapterCache adapters, ILogger logger)
    {
        _options = options;
        _adapters = adapters;
        _logger = logger;

        // An adapter is only evicted when no sequence holds it, so its context is idle and can go with it.
        _adapters.Evicting += Close;
        _thread = new Thread(Run) { IsBackground = true, Name = "evalmesh-model-host" };
        _thread.Start();
    }

    public InferenceStats Stats => new(Interlocked.Read(ref _promptTokensDecoded), Interlocked.Read(ref _tokensGenerated), Interlocked.Read(ref _decodeCalls));

    /// <summary>Queues a request; its task ends with its reply.</summary>
    /// <exception cref="InferenceException">Too many requests for its model are waiting (<see cref="InferenceProblem.Overloaded"/>), or the host is stopping.</exception>
    public Task<InferenceReply> Enqueue(PendingRequest pending)
    {
        var model = pending.Files.Model;
        var waiting = _waiting.AddOrUpdate(model, 1, (_, n) => n + 1);
        if (waiting > _options.MaxWaitingRequests)
        {
            LeftQueue(model);
            var retryAfter = TimeSpan.FromSeconds(Math.Clamp(Math.Ceiling(waiting * Volatile.Read(ref _secondsPerCompletion)), 1, 60));
            var overloaded = new InferenceException(
                InferenceProblem.Overloaded,
                $"{waiting - 1} requests for {Path.GetFileName(model)} are waiting, as many as this model host takes (EvalMesh:ModelHost:MaxWaitingRequests); try again in {retryAfter.TotalSeconds:0} s",
                retryAfter: retryAfter);
            InferenceMetrics.Errors.WithLabels(overloaded.Code).Inc();
            throw overloaded;
        }

        if (!_work.Writer.TryWrite(pending))
        {
            LeftQueue(model);
            throw new InferenceException(InferenceProblem.Stopped, "the model host is shutting down");
        }

        return pending.Task;
    }

    /// <summary>Runs <paramref name="action"/> on the scheduler thread between two steps.</summary>
    public Task<T> RunAsync<T>(Func<T> action, CancellationToken cancellationToken)
    {
        var job = new SchedulerJob<T>(action, cancellationToken);
        return _work.Writer.TryWrite(job) ? job.Task : throw new InferenceException(InferenceProblem.Stopped, "the model host is shutting down");
    }

    /// <summary>A base model, loading it on first use (scheduler thread only).</summary>
    public LoadedModel GetModel(string path)
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

    /// <summary>Requests waiting or running per base model and adapter (scheduler thread only).</summary>
    public IReadOnlyDictionary<ModelFiles, int> QueueDepths()
    {
        var depths = new Dictionary<ModelFiles, int>();
        foreach (var pending in _queue)
        {
            depths[pending.Files] = depths.GetValueOrDefault(pending.Files) + 1;
        }

        foreach (var (files, context) in _contexts)
        {
            depths[files] = depths.GetValueOrDefault(files) + context.Active.Count;
        }

        return depths;
    }

    /// <summary>Stops the thread (queued requests fail with <see cref="InferenceProblem.Stopped"/>) and frees contexts and models.</summary>
    public void Dispose()
    {
        _work.Writer.TryComplete();
        _thread.Join();
        foreach (var context in _contexts.Values)
        {
            context.Dispose();
        }

        foreach (var model in _models.Values)
        {
            model.Dispose();
        }
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
            var completed = 0;
            try
            {
                completed = Step(context).Completed;
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
            CountCompletions(took, completed);
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
                case ISchedulerJob job:
                    job.Run();
                    break;
            }
        }

        foreach (var cancelled in _queue.Where(p => p.IsFinished).ToList())
        {
            cancelled.Cancel();
            Dequeue(cancelled);
        }
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

            var files = pending.Files;
            try
            {
                if (files.Adapter is not null && _contexts.GetValueOrDefault(files)?.Lease is null)
                {
                    if (!_adapters.MakeRoom(files, busy => pending.Waited < _options.VictimWait && EndsWithin(busy, _options.VictimWait)))
                    {
                        pending.WaitForRoom();
                        continue;
                    }

                    pending.RoomMade();
                }

                if (!_contexts.TryGetValue(files, out var context))
                {
                    if (!MakeRoomForContext())
                    {
                        continue;
                    }

                    context = new AdapterContext(GetModel(files.Model), _options.MaxBatchSequences);
                    _contexts[files] = context;
                }

                var wasResident = true;
                if (files.Adapter is not null && context.Lease is null)
                {
                    var lease = _adapters.Acquire(files, context.Model);
                    context.Lease = lease;
                    context.UseAdapter(lease.Adapter);
                    wasResident = lease.WasResident;
                }

                if (context.TryStart(pending, new InferenceRoute(_options.Name, wasResident), _options, out var prefixDecoded))
                {
                    CountPromptTokens(context.Model, prefixDecoded);
                    Dequeue(pending);
                    if (files.Adapter is not null)
                    {
                        _adapters.Served(files, wasResident);
                    }
                }
            }
            catch (Exception ex) when (ex is GgufException or InferenceException or IOException or UnauthorizedAccessException)
            {
                Dequeue(pending);
                pending.Fail(ex);
            }
        }
    }

    /// <summary>
    /// Whether the requests running with an adapter will have ended within <paramref name="time"/> even if they use their
    /// whole token budgets: the busy contexts take turns, one step each at about the usual step's time.
    /// </summary>
    private bool EndsWithin(ModelFiles files, TimeSpan time)
    {
        var steps = _contexts.TryGetValue(files, out var context) ? context.Active.Select(s => s.StepsLeft).DefaultIfEmpty().Max() : 0;
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

    private void Close(ModelFiles files)
    {
        if (_contexts.Remove(files, out var context))
        {
            context.Lease?.Dispose();
            context.Dispose();
        }
    }

    private StepResult Step(AdapterContext context)
    {
        context.LastUsed = ++_clock;
        var step = context.Step(_batch, _options.BatchSize);
        if (step.Sequences > 0)
        {
            Interlocked.Increment(ref _decodeCalls);
            CountPromptTokens(context.Model, step.PromptTokens);
            Interlocked.Add(ref _tokensGenerated, step.Sampled);
            InferenceMetrics.BatchSequences.Observe(step.Sequences);
        }

        return step;
    }

    /// <summary>Keeps a moving average of the time between completed requests, from which an overloaded host says when to try again.</summary>
    private void CountCompletions(double stepSeconds, int completed)
    {
        _sinceCompletion += stepSeconds;
        if (completed > 0)
        {
            var sample = _sinceCompletion / completed;
            Volatile.Write(ref _secondsPerCompletion, _secondsPerCompletion == 0 ? sample : _secondsPerCompletion + ((sample - _secondsPerCompletion) / 16));
            _sinceCompletion = 0;
        }
    }

    private void Dequeue(PendingRequest pending)
    {
        _queue.Remove(pending);
        LeftQueue(pending.Files.Model);
    }

    private void LeftQueue(string model) => _waiting.AddOrUpdate(model, 0, (_, n) => n - 1);

    private void CountPromptTokens(LoadedModel model, int tokens)
    {
        Interlocked.Add(ref _promptTokensDecoded, tokens);
        InferenceMetrics.PromptTokens.WithLabels(InferenceMetrics.Label(model.Info.Path)).Inc(tokens);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Loaded model {Path} ({Bytes} bytes)")]
    private partial void LogModelLoaded(string path, long bytes);
}
