using System.Text;
using System.Text.Json.Nodes;
using EvalMesh.Evaluation.Formats;

namespace EvalMesh.Evaluation.Tokenization;

/// <summary>What one format costs for one set of records.</summary>
/// <param name="Format">The format name.</param>
/// <param name="Bytes">UTF-8 bytes of the rendered text.</param>
/// <param name="Characters">UTF-16 characters of the rendered text.</param>
/// <param name="Tokens">Tokens per tokenizer name, in the order asked for.</param>
public sealed record FormatCost(string Format, int Bytes, int Characters, IReadOnlyDictionary<string, int> Tokens);

/// <summary>Renders records in each format and counts what each costs: the token study of the seed experiment.</summary>
public static class TokenStudy
{
    /// <summary>Measures every format under every tokenizer.</summary>
    public static IReadOnlyList<FormatCost> Measure(IReadOnlyList<JsonObject> records, IReadOnlyList<IRecordFormat> formats, IReadOnlyList<ITokenCounter> tokenizers)
    {
        ArgumentNullException.ThrowIfNull(formats);
        ArgumentNullException.ThrowIfNull(tokenizers);
        return [.. formats.Select(format =>
        {
            var text = format.Render(records);
            var tokens = tokenizers.ToDictionary(t => t.Name, t => t.CountTokens(text), StringComparer.Ordinal);
            return new FormatCost(format.Name, Encoding.UTF8.GetByteCount(text), text.Length, tokens);
        })];
    }
}
