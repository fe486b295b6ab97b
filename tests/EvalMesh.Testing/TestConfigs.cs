namespace EvalMesh.Testing;

/// <summary>Run configs that several tests start as they are.</summary>
public static class TestConfigs
{
    /// <summary>A small run that completes in a moment: ten generated Slack messages, one case per category, CSV, on echo.</summary>
    public const string SmallEchoRun = """
        datasets:
          - name: slack
            generate: { kind: slack, messages: 10, seed: 1, cases-per-category: 1 }
        suites:
          - name: slack
            dataset: slack
            generated: true
        formats: [csv]
        endpoints:
          - name: echo
            type: echo
        """;
}
