using System.Diagnostics;
using EvalMesh.Abstractions;
using Prometheus;

namespace EvalMesh.Inference.Llama;

/// <summary>
/// A request waiting for, or in, the scheduler, with the task its caller awaits. Its end is counted in the metrics,
/// whose series for its base and adapter exist from its arrival.
/// </summary>
internal sealed class PendingRequest(ModelFiles files, InferenceRequest request, Action<InferenceChunk>? onText, CancellationToken cancellationToken)
{
    private readonly TaskCompletionSource<InferenceReply> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly long _arrived = Stopwatch.GetTimestamp();
    private readonly Histogram.Child _duration = InferenceMetrics.RequestDuration.WithLabels(InferenceMetrics.Label(files.Model), InferenceMetrics.Label(files.Adapter));
    private readonly Counter.Child _generated = InferenceMetrics.GeneratedTokens.WithLabels(InferenceMetrics.Label(files.Model), InferenceMetrics.Label(files.Adapter));
    private readonly Histogram.Child _firstToken = InferenceMetrics.TimeToFirstToken.WithLabels(InferenceMetrics.Label(files.Model), InferenceMetrics.Label(files.Adapter));
    private bool _started;
    private long? _waitingForRoom;

    /// <summary>The base model and adapter that serve it.</summary>
    public ModelFiles Files => files;

    public InferenceRequest Request => request;

    /// <summary>Called on the scheduler thread with each new piece of the completion (and its tokens' log probabilities, when asked for), for streaming.</summary>
    public Action<InferenceChunk>? OnText => onText;

    /// <summary>The prompt's tokens, tokenized once when the request is first considered.</summary>
    public PromptTokens? Tokens { get; set; }

    public Task<InferenceReply> Task => _completion.Task;

    /// <summary>How long ago it arrived.</summary>
    public TimeSpan Waited => Stopwatch.GetElapsedTime(_arrived);

    public bool IsFinished => _completion.Task.IsCompleted || cancellationToken.IsCancellationRequested;

    /// <summary>Counts a token generated for this request as it is sampled (so that a cancelled request's work counts too); the first one's time is its time to first token.</summary>
    public void CountToken()
    {
        _generated.Inc();
        if (!_started)
        {
            _started = true;
            _firstToken.Observe(Stopwatch.GetElapsedTime(_arrived).TotalSeconds);
        }
    }

    /// <summary>Notes that its adapter's load waits for the adapter that should make room to finish a request.</summary>
    public void WaitForRoom() => _waitingForRoom ??= Stopwatch.GetTimestamp();

    /// <summary>Its adapter's load may go ahead; how long it waited for room, if it did, is observed.</summary>
    public void RoomMade()
    {
        if (_waitingForRoom is { } since)
        {
            InferenceMetrics.AdapterVictimWait.Observe(Stopwatch.GetElapsedTime(since).TotalSeconds);
            _waitingForRoom = null;
        }
    }

    public void Complete(InferenceReply result)
    {
        if (_completion.TrySetResult(result))
        {
            _duration.Observe(Stopwatch.GetElapsedTime(_arrived).TotalSeconds);
        }
    }

    public void Fail(Exception exception)
    {
        if (_completion.TrySetException(exception))
        {
            InferenceMetrics.Errors.WithLabels(InferenceMetrics.ErrorKind(exception)).Inc();
        }
    }

    public void Cancel() => _completion.TrySetCanceled(cancellationToken);
}

/// <summary>A prompt's tokens.</summary>
/// <param name="Prompt">All of them.</param>
/// <param name="SharedPrefix">How many of the first are the prefix the request declared shared with others (0 for none).</param>
internal readonly record struct PromptTokens(int[] Prompt, int SharedPrefix);
