using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace EvalMesh.Abstractions;

/// <summary>Serializer set-up shared by silos and clients.</summary>
public static class EvalMeshSerialization
{
    /// <summary>
    /// Lets grain calls carry the evaluation library's plain records (configs, test cases, scorer specs) as JSON, so that
    /// library stays free of Orleans. Its exceptions travel as Orleans exceptions (type, message, stack), not as JSON.
    /// </summary>
    public static IServiceCollection AddEvalMeshSerialization(this IServiceCollection services) =>
        services.AddSerializer(serializer => serializer.AddJsonSerializer(
            isSupported: type => type.Namespace?.StartsWith("EvalMesh.Evaluation", StringComparison.Ordinal) == true && !typeof(Exception).IsAssignableFrom(type)));
}
