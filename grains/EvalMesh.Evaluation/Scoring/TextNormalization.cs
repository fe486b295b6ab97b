using System.Text;

namespace EvalMesh.Evaluation.Scoring;

/// <summary>How text is normalised before it is compared.</summary>
/// <param name="Trim">Remove leading and trailing white space.</param>
/// <param name="IgnoreCase">Compare without regard to case (invariant culture).</param>
/// <param name="Nfkc">Apply Unicode NFKC, so that full-width and half-width forms compare equal.</param>
public sealed record TextNormalization(bool Trim = true, bool IgnoreCase = false, bool Nfkc = true)
{
    /// <summary>Applies the normalisation.</summary>
    public string Apply(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (Nfkc)
        {
            text = text.Normalize(NormalizationForm.FormKC);
        }

        if (Trim)
        {
            text = text.Trim();
        }

        return IgnoreCase ? text.ToUpperInvariant() : text;
    }
}
