using Orleans.Placement;

namespace EvalMesh.Grains.Routing;

/// <summary>Places an adapter host on the silo that holds its adapter, else where loading it costs least.</summary>
[Serializable, GenerateSerializer, Immutable]
public sealed class AdapterAffinityPlacement : PlacementStrategy
{
    internal static readonly AdapterAffinityPlacement Singleton = new();
}

/// <summary>Marks a grain class for <see cref="AdapterAffinityPlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class AdapterAffinityPlacementAttribute() : PlacementAttribute(AdapterAffinityPlacement.Singleton);

/// <summary>Places a grain on the silo whose address is its key (for per-silo agents).</summary>
[Serializable, GenerateSerializer, Immutable]
public sealed class SiloBoundPlacement : PlacementStrategy
{
    internal static readonly SiloBoundPlacement Singleton = new();
}

/// <summary>Marks a grain class for <see cref="SiloBoundPlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class SiloBoundPlacementAttribute() : PlacementAttribute(SiloBoundPlacement.Singleton);
