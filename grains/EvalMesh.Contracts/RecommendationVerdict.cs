namespace EvalMesh.Contracts;

/// <summary>What the recommendation rests on.</summary>
public enum RecommendationVerdict
{
    /// <summary>A format cheaper than the most accurate one is shown to be at most the margin less accurate.</summary>
    NonInferior,

    /// <summary>Every format cheaper than the most accurate one is shown to be more than the margin less accurate, so the most accurate one is recommended.</summary>
    CheaperFormatsWorse,

    /// <summary>The most accurate format is also the cheapest, and it is shown within the margin of every other format.</summary>
    BestIsCheapest,

    /// <summary>Only one format was evaluated: there was nothing to choose between.</summary>
    OnlyFormat,

    /// <summary>The data does not decide: no format is recommended, and the cases needed to decide are given where more cases would.</summary>
    Inconclusive,
}
