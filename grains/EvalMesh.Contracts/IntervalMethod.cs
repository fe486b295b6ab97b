namespace EvalMesh.Contracts;

/// <summary>How an interval treats repeats.</summary>
public enum IntervalMethod
{
    /// <summary>
    /// The cases are the sample: the Wilson score interval (Tango's for a paired difference) over the cases. Used for one
    /// repeat, and for repeats whose spread cannot tell how much they add (every case at 0% or 100%, or two
    /// conditions that never disagree), where they are taken to add nothing.
    /// </summary>
    Wilson,

    /// <summary>
    /// Repeats clustered by case: the score interval on the effective number of cases that the clustered standard
    /// error gives, with Student's t for the cases' degrees of freedom (Korn and Graubard 1998).
    /// </summary>
    Clustered,
}
