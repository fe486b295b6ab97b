using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace EvalMesh.Evaluation.Formats;

/// <summary>
/// <c>yaml</c>: a block sequence of mappings. Multi-line text uses literal blocks; strings that YAML would read as
/// another type (numbers, booleans, null) are quoted so that types survive.
/// </summary>
public sealed partial class YamlFormat : IRecordFormat
{
    /// <inheritdoc />
    public string Name => "yaml";

    /// <inheritdoc />
    public string Render(IReadOnlyList<JsonObject> records)
    {
        using var writer = new StringWriter { NewLine = "\n" };
        var emitter = new Emitter(writer, new EmitterSettings(bestIndent: 2, bestWidth: int.MaxValue, isCanonical: false, maxSimpleKeyLength: 1024, skipAnchorName: true, indentSequences: false, newLine: "\n", useUtf16SurrogatePairs: false));
        emitter.Emit(new StreamStart());
        emitter.Emit(new DocumentStart(null, null, isImplicit: true));
        emitter.Emit(new SequenceStart(AnchorName.Empty, TagName.Empty, isImplicit: true, SequenceStyle.Block));
        foreach (var record in records)
        {
            EmitNode(emitter, record);
        }

        emitter.Emit(new SequenceEnd());
        emitter.Emit(new DocumentEnd(isImplicit: true));
        emitter.Emit(new StreamEnd());
        return writer.ToString().TrimEnd('\n');
    }

    private static void EmitNode(IEmitter emitter, JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                emitter.Emit(new MappingStart(AnchorName.Empty, TagName.Empty, isImplicit: true, obj.Count == 0 ? MappingStyle.Flow : MappingStyle.Block));
                foreach (var (key, value) in obj)
                {
                    EmitString(emitter, key);
                    EmitNode(emitter, value);
                }

                emitter.Emit(new MappingEnd());
                break;
            case JsonArray array:
                emitter.Emit(new SequenceStart(AnchorName.Empty, TagName.Empty, isImplicit: true, array.Count == 0 ? SequenceStyle.Flow : SequenceStyle.Block));
                foreach (var item in array)
                {
                    EmitNode(emitter, item);
                }

                emitter.Emit(new SequenceEnd());
                break;
            case null:
                emitter.Emit(new Scalar(AnchorName.Empty, TagName.Empty, "null", ScalarStyle.Plain, isPlainImplicit: true, isQuotedImplicit: false));
                break;
            case JsonValue value when JsonText.IsString(value, out var text):
                EmitString(emitter, text);
                break;
            case JsonValue value:
                var plain = value.GetValueKind() == JsonValueKind.Number ? JsonText.CanonicalNumber(value) : value.ToJsonString();
                emitter.Emit(new Scalar(AnchorName.Empty, TagName.Empty, plain, ScalarStyle.Plain, isPlainImplicit: true, isQuotedImplicit: false));
                break;
        }
    }

    private static void EmitString(IEmitter emitter, string text)
    {
        var style = StyleFor(text);
        emitter.Emit(new Scalar(AnchorName.Empty, TagName.Empty, text, style, isPlainImplicit: style == ScalarStyle.Any, isQuotedImplicit: true));
    }

    // Double quotes escape exactly; they are used wherever plain or literal text would lose something (control
    // characters, edge white space) or change type. Multi-line text otherwise reads best as a literal block.
    private static ScalarStyle StyleFor(string text)
    {
        if (text.Length > 0 && (char.IsWhiteSpace(text[0]) || char.IsWhiteSpace(text[^1]))
            || text.Any(c => c < ' ' && c != '\n')
            || text.Contains(" \n", StringComparison.Ordinal))
        {
            return ScalarStyle.DoubleQuoted;
        }

        return text.Contains('\n', StringComparison.Ordinal) ? ScalarStyle.Literal
            : ReadsAsOtherType().IsMatch(text) ? ScalarStyle.DoubleQuoted
            : ScalarStyle.Any;
    }

    // Plain scalars that YAML 1.1 or 1.2 resolvers read as null, booleans or numbers.
    [GeneratedRegex(@"^(~|null|Null|NULL|true|True|TRUE|false|False|FALSE|yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF|y|Y|n|N|[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)|0x[0-9a-fA-F_]+|0o?[0-7_]+|[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}.*)$")]
    private static partial Regex ReadsAsOtherType();
}
