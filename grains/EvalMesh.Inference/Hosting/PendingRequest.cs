namespace EvalMesh.Inference.Hosting;

/// <summary>A request waiting for, or in, the scheduler, with the task its caller awaits.</summary>
internal sealed class PendingRequest(InferenceRequest request, CancellationToken cancellationToken)
{
    private readonly TaskCompletionSource<InferenceResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public InferenceRequest Request { get; } = request with { Model = Path.GetFullPath(request.Model), Adapter = request.Adapter is null ? null : Path.GetFullPath(request.Adapter) };

    public CancellationToken CancellationToken => cancellationToken;

    /// <summary>The prompt's tokens (shared prefix, rest), tokenized once when the request is first considered.</summary>
    public (int[] Prefix, int[] Question)? Tokens { get; set; }

    public Task<InferenceResult> Task => _completion.Task;

    public bool IsFinished => _completion.Task.IsCompleted || cancellationToken.IsCancellationRequested;

    public bool SameGroup(PendingRequest other) => Request.Model == other.Request.Model && Request.Adapter == other.Request.Adapter;

    public void Complete(InferenceResult result) => _completion.TrySetResult(result);

    public void Fail(Exception exception) => _completion.TrySetException(exception);

    public void Cancel() => _completion.TrySetCanceled(cancellationToken);
}
