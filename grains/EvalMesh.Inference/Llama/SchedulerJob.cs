namespace EvalMesh.Inference.Llama;

/// <summary>Work the scheduler thread runs between two decode steps.</summary>
internal interface ISchedulerJob
{
    void Run();
}

/// <summary>A function to run on the scheduler thread, and the task its caller awaits.</summary>
internal sealed class SchedulerJob<T>(Func<T> action, CancellationToken cancellationToken) : ISchedulerJob
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
