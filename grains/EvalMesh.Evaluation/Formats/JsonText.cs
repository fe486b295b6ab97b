using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace EvalMesh.Evaluation.Formats;

/// <summary>Shared JSON settings and scalar text, so that every format writes values the same way.</summary>
internal static class JsonText
{
    // Relaxed escaping keeps Japanese and other non-ASCII text readable (and cheap in tokens) instead of \uXXXX.
    public static readonly JavaScriptEncoder Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;

    public static readonly JsonSerializerOptions Compact = new() { Encoder = Encoder };

    public static readonly JsonWriterOptions CompactWriter = new() { Encoder = Encoder };

    public static readonly JsonWriterOptions IndentedWriter = new() { Encoder = Encoder, Indented = true, IndentSize = 2, NewLine = "\n" };

    public static string WriteArray(IReadOnlyList<JsonObject> records, JsonWriterOptions options)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(4096);
        using (var writer = new Utf8JsonWriter(buffer, options))
        {
            writer.WriteStartArray();
            foreach (var record in records)
            {
                record.WriteTo(writer);
            }

            writer.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The text of a leaf value as a person would write it: strings raw, null empty, arrays as compact JSON.</summary>
    public static string Scalar(JsonNode? node) => node switch
    {
        null => string.Empty,
        JsonValue value when value.GetValueKind() == JsonValueKind.String => value.GetValue<string>(),
        _ => node.ToJsonString(Compact),
    };

    public static bool IsString(JsonNode? node, out string text)
    {
        if (node is JsonValue value && value.GetValueKind() == JsonValueKind.String)
        {
            text = value.GetValue<string>();
            return true;
        }

        text = string.Empty;
        return false;
    }

    /// <summary>A number in canonical decimal form: no exponent, no trailing fractional zeros, -0 as 0.</summary>
    public static string CanonicalNumber(JsonValue number)
    {
        var raw = number.ToJsonString();
        var approx = double.Parse(raw, NumberStyles.Float, CultureInfo.InvariantCulture);
        if (approx == 0)
        {
            return "0";
        }

        // decimal keeps up to 28 significant digits exactly (64-bit ids survive); it rounds tiny values to 0.
        if (decimal.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var exact) && exact != 0)
        {
            return exact.ToString("0.############################", CultureInfo.InvariantCulture);
        }

        return ExpandExponent(approx.ToString("R", CultureInfo.InvariantCulture));
    }

    /// <summary>Rewrites a shortest round-trip double such as <c>1.25E-30</c> without its exponent.</summary>
    private static string ExpandExponent(string roundTrip)
    {
        var e = roundTrip.IndexOf('E', StringComparison.Ordinal);
        if (e < 0)
        {
            return roundTrip;
        }

        var negative = roundTrip[0] == '-';
        var mantissa = roundTrip[(negative ? 1 : 0)..e];
        var exponent = int.Parse(roundTrip[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        var dot = mantissa.IndexOf('.', StringComparison.Ordinal);
        var digits = dot < 0 ? mantissa : mantissa.Remove(dot, 1);
        var pointAt = (dot < 0 ? mantissa.Length : dot) + exponent;
        string text;
        if (pointAt <= 0)
        {
            text = "0." + new string('0', -pointAt) + digits;
        }
        else if (pointAt >= digits.Length)
        {
            text = digits + new string('0', pointAt - digits.Length);
        }
        else
        {
            text = digits[..pointAt] + "." + digits[pointAt..];
        }

        text = text.Contains('.', StringComparison.Ordinal) ? text.TrimEnd('0').TrimEnd('.') : text;
        return negative ? "-" + text : text;
    }
}
