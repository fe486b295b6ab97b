namespace EvalMesh.Evaluation.Scoring;

/// <summary>Which scorer a test case uses, with its options, as written in a suite or config file.</summary>
/// <param name="Type">The scorer name: one of <see cref="ScorerFactory.Names"/>.</param>
/// <param name="Trim">exact/contains: trim white space (default true).</param>
/// <param name="IgnoreCase">exact/contains/regex: ignore case (default false).</param>
/// <param name="Nfkc">exact/contains: Unicode NFKC normalisation (default true).</param>
/// <param name="Tolerance">numeric: the largest accepted absolute difference (default 0).</param>
/// <param name="MinF1">url-set: pass when F1 reaches this instead of requiring an exact set match.</param>
/// <param name="Rubric">llm-judge: what the judge checks.</param>
public sealed record ScorerSpec(
    string Type,
    bool Trim = true,
    bool IgnoreCase = false,
    bool Nfkc = true,
    double Tolerance = 0,
    double? MinF1 = null,
    string? Rubric = null);
