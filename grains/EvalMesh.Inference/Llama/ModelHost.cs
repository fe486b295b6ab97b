using System.Runtime.CompilerServices;
using System.Threading.Channels;
using EvalMesh.Abstractions;
using EvalMesh.Evaluation.Tokenization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace EvalMesh.Inference.Llama;

/// <summary>
/// Serves local GGUF models in this process. Base models load once; any number of LoRA adapters are served on a base
/// without reloading it, from a cache bounded by bytes and count. One scheduler thread does all native work and
/// batches concurrent requests per base and adapter (<see cref="BatchScheduler"/>); what is loaded can be read at any
/// time through <see cref="Residency"/>.
/// </summary>
public sealed class ModelHost : IDisposable
{
    private readonly AdapterCache _adapters;
    private readonly BatchScheduler _scheduler;

    /// <summary>Creates a host and starts its scheduler thread.</summary>
    public ModelHost(IOptions<ModelHostOptions> options, ILogger<ModelHost>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var settings = options.Value;
        var validation = new ModelHostOptionsValidator().Validate(null, settings);
        if (validation.Failed)
        {
            throw new OptionsValidationException(ModelHostOptions.Section, typeof(ModelHostOptions), validation.Failures);
        }

        var log = (ILogger?)logger ?? NullLogger.Instance;
        LlamaRuntime.EnsureConfigured(log);
        _adapters = new AdapterCache(settings);
        _adapters.Evicting += _ => ResidencyChanged?.Invoke();
        _adapters.Loaded += (_, _) => ResidencyChanged?.Invoke();
        _scheduler = new BatchScheduler(settings, _adapters, log);
    }

    /// <summary>The adapters loaded, their counts and the host's capacity.</summary>
    public IAdapterResidency Residency => _adapters;

    /// <summary>Work done so far: prompt tokens decoded (a reused prefix is not decoded again), tokens generated, decode calls.</summary>
    public InferenceStats Stats => _scheduler.Stats;

    /// <summary>Raised on the scheduler thread after an adapter is validated and loaded, with how long that took.</summary>
    public event Action<ModelFiles, TimeSpan>? AdapterLoaded
    {
        add => _adapters.Loaded += value;
        remove => _adapters.Loaded -= value;
    }

    /// <summary>Raised when an adapter is loaded, evicted or released, so that the cluster can be told at once.</summary>
    public event Action? ResidencyChanged;

    /// <summary>Runs one completion; concurrent calls for the same base and adapter are batched.</summary>
    /// <exception cref="Gguf.GgufException">The model or adapter file failed validation.</exception>
    /// <exception cref="InferenceException">The request could not be served.</exception>
    public Task<InferenceReply> InferAsync(ModelFiles files, InferenceRequest request, CancellationToken cancellationToken = default) =>
        InferAsync(files, request, null, cancellationToken);

    /// <summary>
    /// Runs one completion like <see cref="InferAsync(ModelFiles, InferenceRequest, CancellationToken)"/> and yields its
    /// text as it is generated (text that could still become a stop sequence waits until it cannot), then a last chunk
    /// with the reply. Leaving the enumeration early stops the generation at the next decode step.
    /// </summary>
    public async IAsyncEnumerable<InferenceChunk> StreamAsync(ModelFiles files, InferenceRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var chunks = Channel.CreateUnbounded<InferenceChunk>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        using var generation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var reply = InferAsync(files, request, chunk => chunks.Writer.TryWrite(chunk), generation.Token);
        _ = reply.ContinueWith(_ => chunks.Writer.TryComplete(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        try
        {
            await foreach (var chunk in chunks.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return chunk;
            }

            yield return new InferenceChunk(string.Empty, await reply.ConfigureAwait(false));
        }
        finally
        {
            await generation.CancelAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Runs one completion as chunks: with <paramref name="stream"/>, as <see cref="StreamAsync"/> does; without, its
    /// reply alone as one chunk.
    /// </summary>
    public IAsyncEnumerable<InferenceChunk> InferAsync(ModelFiles files, InferenceRequest request, bool stream, CancellationToken cancellationToken = default) =>
        stream ? StreamAsync(files, request, cancellationToken) : WholeAsync(files, request, cancellationToken);

    /// <summary>A token counter for a model's own vocabulary, named after the model file (such as <c>tiny-llama</c>).</summary>
    public Task<ITokenCounter> GetTokenCounterAsync(string model, CancellationToken cancellationToken = default) =>
        _scheduler.RunAsync(() => (ITokenCounter)new LlamaTokenCounter(Path.GetFileNameWithoutExtension(model), _scheduler.GetModel(Path.GetFullPath(model))), cancellationToken);

    /// <summary>Loads a base model now, so that the first request does not pay for it.</summary>
    public Task PreloadAsync(string model, CancellationToken cancellationToken = default) =>
        _scheduler.RunAsync(() => _scheduler.GetModel(Path.GetFullPath(model)), cancellationToken);

    /// <summary>
    /// Loads an adapter into the cache now (validated), so that its first request finds it resident, if it fits without
    /// evicting anything: a guess about upcoming work never pushes out an adapter that running work may still need.
    /// </summary>
    /// <returns>Whether it was already resident.</returns>
    public Task<bool> PrefetchAsync(ModelFiles files, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(files?.Adapter, nameof(files));
        return _scheduler.RunAsync(() =>
        {
            var model = _scheduler.GetModel(files.Model);
            if (!_adapters.IsResident(files) && !_adapters.HasRoomFor(files))
            {
                return false;
            }

            using var lease = _adapters.Acquire(files, model);
            return lease.WasResident;
        }, cancellationToken);
    }

    /// <summary>Unloads an adapter now unless a request is using it; returns whether it was unloaded.</summary>
    public Task<bool> EvictAsync(ModelFiles files, CancellationToken cancellationToken = default) =>
        _scheduler.RunAsync(() => _adapters.Evict(files), cancellationToken);

    /// <summary>Marks an adapter as no longer needed by whoever asked for it lately: it is the first to make room.</summary>
    public void Release(ModelFiles files)
    {
        _adapters.Release(files);
        ResidencyChanged?.Invoke();
    }

    /// <summary>
    /// How the rest of the cluster sees adapters: this host evicts a surplus copy first, else the adapter whose count
    /// here plus the others' is lowest, the least used cluster-wide, so that it evicts what the cluster's placement
    /// expects. Replaces the previous view.
    /// </summary>
    public void SetElsewhere(IReadOnlyDictionary<ModelFiles, Elsewhere> view)
    {
        ArgumentNullException.ThrowIfNull(view);
        _adapters.SetElsewhere(view);
    }

    /// <summary>Requests waiting or running per base model and adapter.</summary>
    public Task<IReadOnlyDictionary<ModelFiles, int>> GetQueueDepthsAsync(CancellationToken cancellationToken = default) =>
        _scheduler.RunAsync(_scheduler.QueueDepths, cancellationToken);

    /// <summary>Stops the scheduler; queued requests fail with <see cref="InferenceProblem.Stopped"/>.</summary>
    public void Dispose()
    {
        _scheduler.Dispose();
        _adapters.Dispose();
    }

    private async IAsyncEnumerable<InferenceChunk> WholeAsync(ModelFiles files, InferenceRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        yield return new InferenceChunk(string.Empty, await InferAsync(files, request, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Runs one completion; <paramref name="onText"/> is called on the scheduler thread with each new piece of its text.</summary>
    internal Task<InferenceReply> InferAsync(ModelFiles files, InferenceRequest request, Action<InferenceChunk>? onText, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentOutOfRangeException.ThrowIfLessThan(request.Options.MaxTokens, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(request.Options.TopLogprobs ?? 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(request.Options.TopLogprobs ?? 0, GenerationOptions.MaxTopLogprobs);
        return _scheduler.Enqueue(new PendingRequest(files, request, onText, cancellationToken));
    }
}
