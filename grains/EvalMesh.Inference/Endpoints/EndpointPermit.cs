namespace EvalMesh.Inference.Endpoints;

/// <summary>
/// Leave from an <see cref="EndpointGovernor"/> to send one attempt: it holds a concurrency slot until disposed, and
/// the attempt's outcome goes back to the governor through <see cref="Answered"/> or <see cref="Failed"/>. A permit
/// disposed without either (the caller gave up) reports nothing.
/// </summary>
public sealed class EndpointPermit : IDisposable
{
    private readonly EndpointGovernor _governor;
    private readonly IDisposable _slot;
    private int _settled;

    internal EndpointPermit(EndpointGovernor governor, IDisposable slot, double estimatedTokens, bool probe)
    {
        _governor = governor;
        _slot = slot;
        EstimatedTokens = estimatedTokens;
        IsProbe = probe;
    }

    /// <summary>The tokens taken for the attempt before it went, to be settled against the endpoint's own count.</summary>
    public double EstimatedTokens { get; }

    /// <summary>Whether the attempt is the half-open circuit's probe, the one request the cluster sends to test it.</summary>
    public bool IsProbe { get; }

    /// <summary>The endpoint answered, counting the tokens it reports (null where it reported none).</summary>
    public void Answered(long? inputTokens, long? outputTokens)
    {
        if (Interlocked.Exchange(ref _settled, 1) == 0)
        {
            _governor.Settle(this, problem: null, inputTokens, outputTokens);
        }
    }

    /// <summary>The attempt failed with <paramref name="problem"/>.</summary>
    public void Failed(EndpointProblem problem)
    {
        if (Interlocked.Exchange(ref _settled, 1) == 0)
        {
            _governor.Settle(this, problem, null, null);
        }
    }

    /// <summary>Gives the slot back; a permit neither answered nor failed is abandoned (its probe, if any, stays this process's).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _settled, 1) == 0)
        {
            _governor.Abandon(this);
        }

        _slot.Dispose();
    }
}
