namespace EvalMesh.Inference.Llama;

/// <summary>What went wrong while serving a request.</summary>
public enum InferenceProblem
{
    /// <summary>The prompt and the tokens to generate do not fit the context window.</summary>
    ContextOverflow,

    /// <summary>llama.cpp could not load a model that passed validation.</summary>
    ModelLoadFailed,

    /// <summary>llama.cpp could not load an adapter that passed validation.</summary>
    AdapterLoadFailed,

    /// <summary>A decode call failed.</summary>
    DecodeFailed,

    /// <summary>The host is shutting down.</summary>
    Stopped,

    /// <summary>The chat template (the model's own, or one named) is not one llama.cpp knows.</summary>
    ChatTemplateUnsupported,

    /// <summary>More requests for the model are waiting than the host takes (<see cref="ModelHostOptions.MaxWaitingRequests"/>); try again later.</summary>
    Overloaded,
}

/// <summary>A request the model host could not serve, and why; it crosses grain calls whole.</summary>
[GenerateSerializer, Alias("evalmesh.inference-exception")]
public sealed class InferenceException : Exception
{
    /// <summary>Creates the exception.</summary>
    public InferenceException(InferenceProblem problem, string message, Exception? innerException = null, TimeSpan? retryAfter = null)
        : base(message, innerException)
    {
        Problem = problem;
        RetryAfter = retryAfter;
    }

    /// <summary>What kind of problem it is.</summary>
    [Id(0)]
    public InferenceProblem Problem { get; }

    /// <summary>The problem in snake case (<c>context_overflow</c>, <c>overloaded</c>, …), as metrics and the gateway's error codes name it.</summary>
    public string Code => System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(Problem.ToString());

    /// <summary>For <see cref="InferenceProblem.Overloaded"/>: when the request may succeed if sent again.</summary>
    [Id(1)]
    public TimeSpan? RetryAfter { get; }
}
