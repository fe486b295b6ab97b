namespace EvalMesh.Client;

/// <summary>
/// A silo's REST API refused a request or failed, for a reason the SDK has no more specific exception for: a missing
/// or wrong API key (401), a key without the scope (403), a body over the silo's limit (413), too many requests (429),
/// an unavailable silo (503). The message is the answer's ProblemDetails <c>detail</c> and the status.
/// </summary>
public sealed class EvalMeshServerException : Exception
{
    /// <summary>Creates the exception from an answer's status and ProblemDetails.</summary>
    public EvalMeshServerException(int status, string? title, string detail)
        : base($"{detail} (HTTP {status}{(title is null ? string.Empty : $" {title}")})")
    {
        Status = status;
        Title = title;
        Detail = detail;
    }

    /// <summary>The HTTP status code.</summary>
    public int Status { get; }

    /// <summary>The ProblemDetails <c>title</c>, such as "insufficient scope", when the answer had one.</summary>
    public string? Title { get; }

    /// <summary>What is wrong, as the silo says it.</summary>
    public string Detail { get; }
}
