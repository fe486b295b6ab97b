namespace EvalMesh.Testing;

/// <summary>Run configs that several tests start.</summary>
public static class TestConfigs
{
    /// <summary>
    /// A small run on <paramref name="endpoints"/> (YAML list items, indented two spaces): ten generated Slack messages,
    /// one case per category (five cases), CSV.
    /// </summary>
    public static string SmallRun(string endpoints) => $$"""
        datasets:
          - name: slack
            generate: { kind: slack, messages: 10, seed: 1, cases-per-category: 1 }
        suites:
          - name: slack
            dataset: slack
            generated: true
        formats: [csv]
        endpoints:
        {{endpoints}}
        """;

    /// <summary>A small run that completes in a moment: <see cref="SmallRun"/> on echo.</summary>
    public static string SmallEchoRun { get; } = SmallRun("  - { name: echo, type: echo }");
}
