namespace EvalMesh.Cluster.Tests;

/// <summary>The matrix the cluster tests run: the generated Slack suite in three formats, on echo and on the tiny model with adapter-1.</summary>
internal static class ClusterMatrix
{
    /// <summary>Writes the matrix to <c>matrix.yaml</c> in <paramref name="folder"/>; returns its path.</summary>
    public static async Task<string> WriteAsync(string folder, int messages, int seed, int casesPerCategory, int maxTokens, int repeats)
    {
        var path = Path.Combine(folder, "matrix.yaml");
        await File.WriteAllTextAsync(path, $$"""
            datasets:
              - name: slack
                generate: { kind: slack, messages: {{messages}}, seed: {{seed}}, cases-per-category: {{casesPerCategory}} }
            suites:
              - name: slack
                dataset: slack
                generated: true
            formats: [oneline-json, csv, toon]
            tokenizers: [o200k_base]
            endpoints:
              - name: echo
                type: echo
              - name: tiny-a1
                type: llama
                model: tiny
                adapter: adapter-1
                max-tokens: {{maxTokens}}
            repeats: {{repeats}}
            """, TestContext.Current.CancellationToken);
        return path;
    }
}
