namespace EvalMesh.Contracts;

/// <summary>How a format is chosen: <c>recommend: { margin: 0.03, alpha: 0.05 }</c> in <c>evalmesh.yaml</c>.</summary>
/// <param name="Margin">
/// The largest drop in accuracy (a fraction, 0.03 = 3 points) that a cheaper format may have against the most
/// accurate one and still be recommended: the non-inferiority margin.
/// </param>
/// <param name="Alpha">The one-sided significance level of each non-inferiority decision (Holm-corrected over the formats).</param>
public sealed record RecommendSettings(double Margin = RecommendSettings.DefaultMargin, double Alpha = RecommendSettings.DefaultAlpha)
{
    /// <summary>The default margin, 3 points of accuracy.</summary>
    public const double DefaultMargin = 0.03;

    /// <summary>The default level, 5%.</summary>
    public const double DefaultAlpha = 0.05;

    /// <summary>The defaults.</summary>
    public static RecommendSettings Default { get; } = new();
}
