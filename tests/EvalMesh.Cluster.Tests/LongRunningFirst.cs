using Xunit.Sdk;
using Xunit.v3;

[assembly: TestCollectionOrderer(typeof(EvalMesh.Cluster.Tests.LongRunningFirst))]

namespace EvalMesh.Cluster.Tests;

/// <summary>
/// The collection of test classes that run for minutes, mostly waiting (<see cref="EndpointRateLimitTests"/>: five
/// minutes on a budget of 600 requests a minute).
/// </summary>
[CollectionDefinition]
public sealed class LongRunning;

/// <summary>
/// Starts the <see cref="LongRunning"/> collection before the others, which then run beside it (the assembly runs three
/// classes at once); started last, it would add its minutes to the assembly's.
/// </summary>
public sealed class LongRunningFirst : ITestCollectionOrderer
{
    /// <inheritdoc/>
    public IReadOnlyCollection<TTestCollection> OrderTestCollections<TTestCollection>(IReadOnlyCollection<TTestCollection> testCollections)
        where TTestCollection : ITestCollection =>
        [.. testCollections.OrderBy(c => (c as IXunitTestCollection)?.CollectionDefinition != typeof(LongRunning))];
}
