using System.Globalization;

namespace EvalMesh.Training;

/// <summary>What stopped a training job.</summary>
public enum TrainingProblem
{
    /// <summary>A setting of the job is out of range (rank, alpha, epochs, learning rate, ...).</summary>
    InvalidSetting,

    /// <summary>The base model file is missing or is not a usable GGUF model.</summary>
    BaseModelUnreadable,

    /// <summary>The base model is not an architecture the built-in trainer implements.</summary>
    UnsupportedModel,

    /// <summary>A tensor of the base model is not F32 (the built-in trainer works on F32 weights only).</summary>
    UnsupportedTensorType,

    /// <summary>The LoRA rank is above the size of a tensor it adapts.</summary>
    RankTooLarge,

    /// <summary>A training or validation file does not exist.</summary>
    DataMissing,

    /// <summary>A line of a training or validation file is not a chat example.</summary>
    MalformedData,

    /// <summary>A training or validation file has no example that can be trained on.</summary>
    NoUsableExamples,

    /// <summary>The output could not be written (no room on the disk, no permission, ...).</summary>
    OutputFailed,

    /// <summary>The process ran out of memory.</summary>
    OutOfMemory,
}

/// <summary>
/// A training job that cannot run or finish, and why: a user's mistake (a bad file, a setting out of range), reported
/// in one line that names the file (and the line of a JSONL file). Nothing half-written is left when it is thrown.
/// </summary>
public sealed class TrainingException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="path">The file at fault (base model, data file or output).</param>
    /// <param name="problem">What kind of problem it is.</param>
    /// <param name="detail">The specifics.</param>
    /// <param name="line">The 1-based line of a JSONL file, when the problem is on one line.</param>
    /// <param name="innerException">The exception that caused it, if any.</param>
    public TrainingException(string path, TrainingProblem problem, string detail, int? line = null, Exception? innerException = null)
        : base(Format(path, problem, detail, line), innerException)
    {
        Path = path;
        Problem = problem;
        Detail = detail;
        Line = line;
    }

    /// <summary>The file at fault.</summary>
    public string Path { get; }

    /// <summary>What kind of problem it is.</summary>
    public TrainingProblem Problem { get; }

    /// <summary>The specifics.</summary>
    public string Detail { get; }

    /// <summary>The 1-based line of a JSONL file, when the problem is on one line.</summary>
    public int? Line { get; }

    private static string Format(string path, TrainingProblem problem, string detail, int? line) =>
        line is { } number
            ? string.Create(CultureInfo.InvariantCulture, $"{path}:{number}: {Describe(problem)}: {detail}")
            : $"{path}: {Describe(problem)}: {detail}";

    private static string Describe(TrainingProblem problem) => problem switch
    {
        TrainingProblem.InvalidSetting => "invalid training setting",
        TrainingProblem.BaseModelUnreadable => "unusable base model",
        TrainingProblem.UnsupportedModel => "base model not supported by the built-in trainer",
        TrainingProblem.UnsupportedTensorType => "tensor type not supported by the built-in trainer",
        TrainingProblem.RankTooLarge => "LoRA rank too large",
        TrainingProblem.DataMissing => "training data not found",
        TrainingProblem.MalformedData => "malformed training example",
        TrainingProblem.NoUsableExamples => "no usable training example",
        TrainingProblem.OutputFailed => "could not write the output",
        TrainingProblem.OutOfMemory => "out of memory",
        _ => problem.ToString(),
    };
}
