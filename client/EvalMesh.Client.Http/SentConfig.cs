using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using EvalMesh.Evaluation.Configuration;

namespace EvalMesh.Client;

/// <summary>
/// The config a client sends to <c>POST /api/runs</c> once it has uploaded what the config's datasets and suites hold:
/// the same settings, with every dataset and suite named by its upload (<c>upload: ID</c>), as JSON the silo reads
/// with <see cref="ConfigLoader.ParseSent"/>. The settings are the config's records written with kebab-case names,
/// which are the config file's keys (<c>max-tokens</c>, <c>base-url</c>, <c>top-p</c>), so that a setting added to
/// the records and the loader under the same name travels without a change here.
/// </summary>
internal static class SentConfig
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.KebabCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>The config to send for <paramref name="config"/>, prepared as <paramref name="prepared"/>.</summary>
    public static string Write(EvalConfig config, PreparedRun prepared)
    {
        var root = JsonSerializer.SerializeToNode(config, Json)!.AsObject();
        root.Remove("file");

        // A suite of the spec is the config's suite of the same index; a dataset no suite uses is left out.
        var suites = config.Suites.Zip(prepared.Spec.Suites).ToList();
        root["datasets"] = new JsonArray([.. suites
            .Select(s => (Name: s.First.Dataset, Id: s.Second.DatasetId))
            .Distinct()
            .Select(d => new JsonObject { ["name"] = d.Name, ["upload"] = d.Id })]);
        root["suites"] = new JsonArray([.. suites
            .Select(s => new JsonObject { ["name"] = s.First.Name, ["dataset"] = s.First.Dataset, ["upload"] = s.Second.SuiteId })]);
        return root.ToJsonString(Json);
    }
}
