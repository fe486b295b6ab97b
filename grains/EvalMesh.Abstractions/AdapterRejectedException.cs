namespace EvalMesh.Abstractions;

/// <summary>An adapter that cannot be registered: its file is missing, corrupt, or made for another base model.</summary>
[GenerateSerializer, Alias("evalmesh.adapter-rejected")]
public sealed class AdapterRejectedException : Exception
{
    /// <summary>Creates the exception with the validator's message.</summary>
    public AdapterRejectedException(string message)
        : base(message)
    {
    }
}
