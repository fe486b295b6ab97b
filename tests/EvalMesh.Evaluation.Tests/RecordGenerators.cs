using System.Text.Json.Nodes;
using CsCheck;

namespace EvalMesh.Evaluation.Tests;

/// <summary>CsCheck generators for nested records with awkward text: Japanese, quotes, commas, line breaks.</summary>
internal static class RecordGenerators
{
    private static readonly Gen<char> Letter = Gen.Char["abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-:,\"'\\/\n\r\t[]{}|#日本語テキスト漢字カナé"];

    private static readonly Gen<string> Text = Gen.OneOf(
        Gen.String[Letter, 0, 24],
        Gen.OneOf<string>("", " lead", "trail ", "true", "false", "null", "42", "-3.5", "1e5", "05", "-", "- dash", "a,b", "say \"hi\"",
            "line1\nline2", "cr\r\nlf", "tab\there", "[x]", "{y}", "日本語のテキストです。", "絵文字😀", "back\\slash", ":colon", "https://example.com/a?b=1&c=2"));

    private static readonly Gen<string> Key = Gen.OneOf(
        Gen.String[Gen.Char["abcdefghijklmnopqrstuvwxyz_"], 1, 8],
        Gen.OneOf<string>("user", "名前", "my-key", "a b", "x:y", "\"q\"", "1st", "[k]"));

    private static readonly Gen<JsonNode?> Primitive = Gen.OneOf<JsonNode?>(
        Text.Select(s => (JsonNode?)JsonValue.Create(s)),
        Gen.Int[-1_000_000, 1_000_000].Select(i => (JsonNode?)JsonValue.Create(i)),
        Gen.Int[-100_000, 100_000].Select(i => (JsonNode?)JsonValue.Create(i / 100.0)),
        Gen.Bool.Select(b => (JsonNode?)JsonValue.Create(b)),
        Gen.Const((JsonNode?)null));

    /// <summary>Records with at least one field, nested up to three levels, with arrays of primitives and objects.</summary>
    public static readonly Gen<List<JsonObject>> Records = Record(3).List[0, 6];

    /// <summary>Uniform flat records: the shape TOON writes as one table.</summary>
    public static readonly Gen<List<JsonObject>> UniformRecords =
        Key.HashSet[1, 5].SelectMany(keys => Gen.Int[1, 5].SelectMany(count =>
            Primitive.Array[keys.Count].List[count].Select(rows => rows.Select(values =>
            {
                var record = new JsonObject();
                var i = 0;
                foreach (var key in keys)
                {
                    record[key] = values[i++];
                }

                return record;
            }).ToList())));

    private static Gen<JsonObject> Record(int depth) =>
        Gen.Select(Key, Value(depth)).List[1, 5].Select(fields =>
        {
            var record = new JsonObject();
            foreach (var (key, value) in fields)
            {
                record[key] = value;
            }

            return record;
        });

    private static Gen<JsonNode?> Value(int depth) => depth == 0
        ? Primitive
        : Gen.Frequency(
            (6, Primitive),
            (1, Record(depth - 1).Select(o => (JsonNode?)o)),
            (1, Primitive.Array[0, 4].Select(items => (JsonNode?)new JsonArray(items))),
            (1, Record(depth - 1).Array[0, 3].Select(items => (JsonNode?)new JsonArray([.. items]))));
}
