using System.Reflection;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
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
        TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { LeaveOutDefaults } },
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
        root["suites"] = new JsonArray([.. suites.Select(s => Suite(s.First, s.Second.SuiteId))]);
        return root.ToJsonString(Json);
    }

    // The suite by its upload; how its questions' records were chosen goes along, for the report to say so.
    private static JsonObject Suite(SuiteConfig suite, string upload)
    {
        var sent = new JsonObject { ["name"] = suite.Name, ["dataset"] = suite.Dataset, ["upload"] = upload };
        if (suite.Retrieve is { } retrieve)
        {
            sent["context"] = new JsonObject { ["retrieve"] = retrieve.Method, ["k"] = retrieve.K };
        }

        return sent;
    }

    // A record's optional parameter at its default is left out, as a config leaves a key out to take its default:
    // some keys are refused where they do not apply (chat-template on an openai endpoint), even at their default.
    private static void LeaveOutDefaults(JsonTypeInfo type)
    {
        if (type.Kind != JsonTypeInfoKind.Object)
        {
            return;
        }

        var optional = type.Type.GetConstructors()
            .SelectMany(c => c.GetParameters())
            .Where(p => p.HasDefaultValue && p.Name is not null)
            .GroupBy(p => p.Name!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.First().DefaultValue, StringComparer.Ordinal);
        foreach (var property in type.Properties)
        {
            if ((property.AttributeProvider as MemberInfo)?.Name is { } name && optional.TryGetValue(name, out var byDefault))
            {
                property.ShouldSerialize = (_, value) => !Equals(value, byDefault);
            }
        }
    }
}
