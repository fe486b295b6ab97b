using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace EvalMesh.Abstractions;

/// <summary>Serializer set-up shared by silos and clients.</summary>
public static class EvalMeshSerialization
{
    /// <summary>
    /// Lets grain calls carry the plain records of <c>EvalMesh.Contracts</c> (endpoint and adapter configs, schedules) as
    /// JSON, so that they stay free of Orleans and the evaluation library can share them.
    /// </summary>
    public static IServiceCollection AddEvalMeshSerialization(this IServiceCollection services) =>
        services.AddSerializer(serializer => serializer.AddJsonSerializer(
            isSupported: type => type.Namespace == "EvalMesh.Contracts"));
}
