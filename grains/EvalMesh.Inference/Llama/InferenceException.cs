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
}

/// <summary>A request the model host could not serve, and why.</summary>
public sealed class InferenceException(InferenceProblem problem, string message, Exception? innerException = null)
    : Exception(message, innerException)
{
    /// <summary>What kind of problem it is.</summary>
    public InferenceProblem Problem { get; } = problem;
}
