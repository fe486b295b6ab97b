using EvalMesh.Evaluation.Suites;

namespace EvalMesh.Evaluation.Generation;

/// <summary>Why a case a model proposed was not kept.</summary>
public enum DropReason
{
    /// <summary>The model declined to write a case.</summary>
    Refusal,

    /// <summary>The reply holds no JSON object, or one that does not parse.</summary>
    NotJson,

    /// <summary>A field the category needs is missing or of the wrong type.</summary>
    MissingField,

    /// <summary>A record number that is not in the dataset.</summary>
    UnknownRecord,

    /// <summary>A user who posted nothing in the dataset.</summary>
    UnknownUser,

    /// <summary>A channel with no message in the dataset.</summary>
    UnknownChannel,

    /// <summary>A thread question about a message that starts no thread with replies.</summary>
    NotAThread,

    /// <summary>The question does not state what its answer is computed from (the record, user, phrase, channel or thread).</summary>
    QuestionLacksCondition,

    /// <summary>A content or compound case that names no record it relies on.</summary>
    NoRecordsNamed,

    /// <summary>A record the model relies on does not support the answer.</summary>
    Unsupported,

    /// <summary>No message satisfies the question.</summary>
    EmptyAnswer,

    /// <summary>A case of the same category with the same answer was kept before.</summary>
    Duplicate,

    /// <summary>The endpoint gave no answer (an error after its retries).</summary>
    NoAnswer,
}

/// <summary>What became of one proposal: the case kept, or why it was dropped.</summary>
/// <param name="Case">The case, with its expected answer computed from the data; null when dropped.</param>
/// <param name="Reason">Why it was dropped; null when kept.</param>
/// <param name="Detail">For a kept case the model's reasoning; for a dropped one what was wrong, in one line.</param>
public sealed record ProposalVerdict(TestCase? Case, DropReason? Reason, string Detail)
{
    /// <summary>A kept case, with the reasoning the model gave for it.</summary>
    public static ProposalVerdict Keep(TestCase testCase, string reasoning) => new(testCase, null, reasoning);

    /// <summary>A dropped proposal.</summary>
    public static ProposalVerdict Drop(DropReason reason, string detail) => new(null, reason, detail);
}
