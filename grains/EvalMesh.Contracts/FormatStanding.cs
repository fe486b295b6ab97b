namespace EvalMesh.Contracts;

/// <summary>Where a format stands against the most accurate one.</summary>
public enum FormatStanding
{
    /// <summary>The most accurate format.</summary>
    Best,

    /// <summary>Cheaper, and shown at most the margin less accurate.</summary>
    NonInferior,

    /// <summary>Cheaper, and shown more than the margin less accurate.</summary>
    Inferior,

    /// <summary>Cheaper, and neither shown.</summary>
    Undecided,

    /// <summary>Not cheaper than the most accurate format, so never a candidate (its p-value, if any, is the most accurate format's non-inferiority to it).</summary>
    NotCheaper,
}
