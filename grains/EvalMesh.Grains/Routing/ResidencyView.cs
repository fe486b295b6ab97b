using EvalMesh.Abstractions;

namespace EvalMesh.Grains.Routing;

/// <summary>This silo's copy of the residency directory, refreshed several times a second; directors read it without a call.</summary>
public sealed class ResidencyView
{
    private DirectorySnapshot _snapshot = DirectorySnapshot.Empty;

    /// <summary>The latest snapshot.</summary>
    public DirectorySnapshot Snapshot => Volatile.Read(ref _snapshot);

    internal void Update(DirectorySnapshot snapshot) => Volatile.Write(ref _snapshot, snapshot);
}
