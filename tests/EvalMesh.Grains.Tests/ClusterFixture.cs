using EvalMesh.Testing;

namespace EvalMesh.Grains.Tests;

/// <summary>The three-silo cluster the run tests share.</summary>
public sealed class ClusterFixture() : EvalMeshTestCluster(3, 2, null), IAsyncLifetime;
