namespace EvalMesh.Inference.Gguf;

/// <summary>What is wrong with a GGUF file.</summary>
public enum GgufProblem
{
    /// <summary>The file does not exist.</summary>
    Missing,

    /// <summary>The file is empty.</summary>
    Empty,

    /// <summary>The file ends before its header, metadata or tensor data do.</summary>
    Truncated,

    /// <summary>The file does not start with "GGUF".</summary>
    WrongMagic,

    /// <summary>The GGUF version is not one this reader understands.</summary>
    WrongVersion,

    /// <summary>The metadata is malformed (bad type, absurd length, missing key).</summary>
    Malformed,

    /// <summary>The architecture is not one the model host serves.</summary>
    UnsupportedArchitecture,

    /// <summary>A model was expected but the file is something else (such as an adapter).</summary>
    NotAModel,

    /// <summary>An adapter was expected but the file is something else (such as a model).</summary>
    NotAnAdapter,

    /// <summary>The adapter was made for a different base model.</summary>
    AdapterForAnotherBase,

    /// <summary>An adapter tensor's shape does not fit the base model's tensor it adapts.</summary>
    ShapeMismatch,

    /// <summary>The file changed while it was being read or loaded.</summary>
    ChangedWhileLoading,
}

/// <summary>A GGUF file that cannot be used, and why. Raised before llama.cpp ever sees the file; it crosses grain calls whole.</summary>
[GenerateSerializer, Alias("evalmesh.gguf-exception")]
public sealed class GgufException : Exception
{
    /// <summary>Creates the exception.</summary>
    public GgufException(string path, GgufProblem problem, string detail)
        : base($"{path}: {Describe(problem)}: {detail}")
    {
        Path = path;
        Problem = problem;
        Detail = detail;
    }

    /// <summary>The file.</summary>
    [Id(0)]
    public string Path { get; }

    /// <summary>What kind of problem it is.</summary>
    [Id(1)]
    public GgufProblem Problem { get; }

    /// <summary>The specifics.</summary>
    [Id(2)]
    public string Detail { get; }

    private static string Describe(GgufProblem problem) => problem switch
    {
        GgufProblem.Missing => "file not found",
        GgufProblem.Empty => "empty file",
        GgufProblem.Truncated => "truncated GGUF file",
        GgufProblem.WrongMagic => "not a GGUF file",
        GgufProblem.WrongVersion => "unsupported GGUF version",
        GgufProblem.Malformed => "malformed GGUF metadata",
        GgufProblem.UnsupportedArchitecture => "unsupported architecture",
        GgufProblem.NotAModel => "not a model",
        GgufProblem.NotAnAdapter => "not a LoRA adapter",
        GgufProblem.AdapterForAnotherBase => "adapter for another base model",
        GgufProblem.ShapeMismatch => "adapter shape mismatch",
        GgufProblem.ChangedWhileLoading => "file changed while loading",
        _ => problem.ToString(),
    };
}
