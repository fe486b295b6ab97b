using System.Text.Json.Nodes;
using EvalMesh.Testing;
using YamlDotNet.RepresentationModel;

namespace EvalMesh.Deployment.Tests;

/// <summary>Renders the Kustomize overlays under k8s/overlays with kubectl and validates objects with kubeval/validate.mjs.</summary>
public static class Manifests
{
    private static string Validator => RepoPaths.Under("tests/EvalMesh.Deployment.Tests/kubeval");

    /// <summary>Runs <c>kubectl kustomize k8s/overlays/OVERLAY</c>.</summary>
    public static Task<ProgramResult> KustomizeAsync(string overlay) =>
        ProgramRunner.RunAsync("kubectl", ["kustomize", RepoPaths.Under($"k8s/overlays/{overlay}")]);

    /// <summary>Renders an overlay (failing the test when kubectl fails) into one JSON object per Kubernetes object.</summary>
    public static async Task<IReadOnlyList<JsonObject>> RenderAsync(string overlay)
    {
        var rendered = await KustomizeAsync(overlay);
        Assert.True(rendered.ExitCode == 0, $"kubectl kustomize {overlay} failed: {rendered.Stderr}");
        return Parse(rendered.Stdout);
    }

    /// <summary>Validates multi-document YAML with kubeval/validate.mjs (its packages installed by tests/prerequisites.sh).</summary>
    public static Task<ProgramResult> ValidateAsync(string yaml)
    {
        if (!Directory.Exists(Path.Combine(Validator, "node_modules")))
        {
            throw new InvalidOperationException($"{Validator} has no node_modules: run tests/prerequisites.sh");
        }

        return ProgramRunner.RunAsync("node", [Path.Combine(Validator, "validate.mjs")], input: yaml);
    }

    /// <summary>Parses multi-document YAML into JSON objects, every scalar as a string.</summary>
    public static IReadOnlyList<JsonObject> Parse(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return [.. stream.Documents.Select(document => ToJson(document.RootNode).AsObject())];
    }

    private static JsonNode ToJson(YamlNode node) => node switch
    {
        YamlMappingNode mapping => new JsonObject(
            mapping.Children.Select(child => KeyValuePair.Create(((YamlScalarNode)child.Key).Value!, (JsonNode?)ToJson(child.Value)))),
        YamlSequenceNode sequence => new JsonArray([.. sequence.Children.Select(child => (JsonNode?)ToJson(child))]),
        YamlScalarNode scalar => JsonValue.Create(scalar.Value ?? ""),
        _ => throw new InvalidDataException($"unexpected YAML node {node.NodeType} at {node.Start}"),
    };
}
