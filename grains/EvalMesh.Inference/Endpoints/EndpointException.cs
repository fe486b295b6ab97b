namespace EvalMesh.Inference.Endpoints;

/// <summary>Why an endpoint call failed after its retries.</summary>
public enum EndpointProblem
{
    /// <summary>HTTP 429 until the retry budget ran out.</summary>
    RateLimited,

    /// <summary>HTTP 5xx until the retry budget ran out.</summary>
    ServerError,

    /// <summary>No answer within the timeout.</summary>
    Timeout,

    /// <summary>The connection failed or dropped.</summary>
    Unreachable,

    /// <summary>The answer was not a valid chat completion (truncated or malformed body).</summary>
    BadResponse,

    /// <summary>The endpoint refused the request (4xx other than 429); not retried.</summary>
    Rejected,
}

/// <summary>
/// An endpoint call that failed: an eval records it as an error, never as a wrong answer. The message never contains
/// the API key.
/// </summary>
public sealed class EndpointException(string endpoint, EndpointProblem problem, string detail, int attempts, Exception? innerException = null)
    : Exception($"endpoint '{endpoint}': {Describe(problem)} after {attempts} attempt{(attempts == 1 ? "" : "s")}: {detail}", innerException)
{
    /// <summary>The endpoint's name.</summary>
    public string Endpoint { get; } = endpoint;

    /// <summary>What kind of failure it was.</summary>
    public EndpointProblem Problem { get; } = problem;

    /// <summary>How many attempts were made.</summary>
    public int Attempts { get; } = attempts;

    private static string Describe(EndpointProblem problem) => problem switch
    {
        EndpointProblem.RateLimited => "rate limited (HTTP 429)",
        EndpointProblem.ServerError => "server error",
        EndpointProblem.Timeout => "timed out",
        EndpointProblem.Unreachable => "unreachable",
        EndpointProblem.BadResponse => "malformed response",
        EndpointProblem.Rejected => "request rejected",
        _ => problem.ToString(),
    };
}
