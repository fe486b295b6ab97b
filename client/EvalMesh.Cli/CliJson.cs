using System.Text.Encodings.Web;
using System.Text.Json;

namespace EvalMesh.Cli;

/// <summary>How <c>--json</c> output is written: camelCase, indented, non-ASCII text kept readable.</summary>
internal static class CliJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static void Print<T>(T value) => Console.WriteLine(JsonSerializer.Serialize(value, Options));
}
