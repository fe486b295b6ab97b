using System.Diagnostics;
using Prometheus;

namespace EvalMesh.Inference.Hosting;

/// <summary>
/// A request waiting for, or in, the scheduler, with the task its caller awaits. Its end is counted in the metrics,
/// whose series for its base and adapter exist from its arrival.
/// </summary>
internal sealed class PendingRequest(InferenceRequest request, Action<InferenceUpdate>? onText, CancellationToken cancellationToken)
{
    private readonly TaskCompletionSource<InferenceResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly long _arrived = Stopwatch.GetTimestamp();
    private readonly Histogram.Child _duration = InferenceMetrics.RequestDuration.WithLabels(InferenceMetrics.Label(request.Model), InferenceMetrics.Label(request.Adapter));
    private readonly Counter.Child _generated = InferenceMetrics.GeneratedTokens.WithLabels(InferenceMetrics.Label(request.Model), InferenceMetrics.Label(request.Adapter));
    private readonly Histogram.Child _firstToken = InferenceMetrics.TimeToFirstToken.WithLabels(InferenceMetrics.Label(request.Model), InferenceMetrics.Label(request.Adapter));
    private bool _started;
    private long? _waitingForRoom;

    public InferenceRequest Request { get; } = request with { Model = Path.GetFullPath(request.Model), Adapter = request.Adapter is null ? null : Path.GetFullPath(request.Adapter) };

    /// <summary>Called on the scheduler thread with each new piece of the completion (and its tokens' log probabilities, when asked for), for streaming.</summary>
    public Action<InferenceUpdate>? OnText => onText;

    /// <summary>The prompt's tokens (shared prefix, rest), tokenized once when the request is first considered.</summary>
    public (int[] Prefix, int[] Question)? Tokens { get; set; }

    public Task<InferenceResult> Task => _completion.Task;

    /// <summary>How long ago it arrived.</summary>
    public TimeSpan Waited => Stopwatch.GetElapsedTime(_arrived);

    public bool IsFinished => _completion.Task.IsCompleted || cancellationToken.IsCancellationRequested;

    public bool SameGroup(PendingRequest other) => Request.Model == other.Request.Model && Request.Adapter == other.Request.Adapter;

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

    public void Complete(InferenceResult result)
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
