namespace EvalMesh.Grains.Storage;

/// <summary>Grain state on disk that this version cannot read, such as a run stored by an earlier, incompatible version.</summary>
public sealed class StoredStateException(string message, Exception innerException) : Exception(message, innerException);
