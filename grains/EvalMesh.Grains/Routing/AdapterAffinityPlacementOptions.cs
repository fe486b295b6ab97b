using Microsoft.Extensions.Options;

namespace EvalMesh.Grains.Routing;

/// <summary>Settings of adapter-affinity routing and hot-adapter replicas (configuration section <c>EvalMesh:Routing</c>).</summary>
public sealed class AdapterAffinityPlacementOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "EvalMesh:Routing";

    /// <summary>How often each silo reports its adapters to the directory and refreshes its view of it.</summary>
    public TimeSpan ReportInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Requests waiting or running per replica above which an adapter counts as hot.</summary>
    public int HotQueueDepth { get; set; } = 12;

    /// <summary>How long an adapter must stay hot before it gets another replica.</summary>
    public TimeSpan HotFor { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Requests per replica at or below which an adapter counts as cool.</summary>
    public int CoolQueueDepth { get; set; } = 1;

    /// <summary>How long an adapter must stay cool before a replica is retired.</summary>
    public TimeSpan CoolFor { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The most replicas of one adapter (never more than the live silos).</summary>
    public int MaxReplicas { get; set; } = 4;
}

/// <summary>Checks <see cref="AdapterAffinityPlacementOptions"/>, naming the setting and its environment variable.</summary>
public sealed class AdapterAffinityPlacementOptionsValidator : IValidateOptions<AdapterAffinityPlacementOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, AdapterAffinityPlacementOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        Check(options.ReportInterval > TimeSpan.Zero, nameof(options.ReportInterval), "must be positive");
        Check(options.HotQueueDepth >= 1, nameof(options.HotQueueDepth), "must be at least 1");
        Check(options.CoolQueueDepth >= 0 && options.CoolQueueDepth < options.HotQueueDepth, nameof(options.CoolQueueDepth), "must be at least 0 and below HotQueueDepth");
        Check(options.HotFor >= TimeSpan.Zero, nameof(options.HotFor), "must not be negative");
        Check(options.CoolFor >= TimeSpan.Zero, nameof(options.CoolFor), "must not be negative");
        Check(options.MaxReplicas >= 1, nameof(options.MaxReplicas), "must be at least 1");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);

        void Check(bool ok, string setting, string problem)
        {
            if (!ok)
            {
                failures.Add($"{AdapterAffinityPlacementOptions.Section}:{setting} {problem} (environment variable EvalMesh__Routing__{setting})");
            }
        }
    }
}
