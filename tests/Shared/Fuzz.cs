using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using CsCheck;

namespace EvalMesh.Testing;

/// <summary>
/// Fuzzing a parser with CsCheck: whatever it is fed, it must return or throw one of its documented, user-facing
/// exceptions; anything else (a NullReferenceException, an IndexOutOfRangeException, an OverflowException ...) fails the
/// test with the smallest input that shows it and a seed to replay it. Iterations are bounded for CI; set
/// <c>EVALMESH_FUZZ_ITERATIONS</c> to run more. (Linked into each test project that fuzzes; see tests/Shared.)
/// </summary>
internal static class Fuzz
{
    /// <summary>The environment variable that sets the iterations of every fuzz test.</summary>
    public const string IterationsVariable = "EVALMESH_FUZZ_ITERATIONS";

    /// <summary>
    /// Feeds <paramref name="parse"/> <paramref name="ciIterations"/> generated inputs (or <c>EVALMESH_FUZZ_ITERATIONS</c>)
    /// and writes to the test output how many were accepted and how many rejected, by exception type. The generator must
    /// reach both outcomes: a fuzzer whose inputs are all rejected, or all accepted, tests little.
    /// </summary>
    public static void Parser<T>(Gen<T> inputs, Action<T> parse, int ciIterations, Type[] documented, Func<T, string>? print = null)
    {
        var iterations = int.TryParse(Environment.GetEnvironmentVariable(IterationsVariable), NumberStyles.None, CultureInfo.InvariantCulture, out var asked) && asked > 0
            ? asked
            : ciIterations;
        var outcomes = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        inputs.Sample(input =>
        {
            string outcome;
            try
            {
                parse(input);
                outcome = "accepted";
            }
            catch (Exception ex) when (documented.Any(type => type.IsInstanceOfType(ex)))
            {
                outcome = ex.GetType().Name;
            }

            outcomes.AddOrUpdate(outcome, 1, (_, count) => count + 1);
        }, iter: iterations, print: print);

        var accepted = outcomes.GetValueOrDefault("accepted");
        var rejected = outcomes.Where(o => o.Key != "accepted").OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => $"{o.Value:N0} {o.Key}");
        TestContext.Current.TestOutputHelper?.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"fuzz: {iterations:N0} inputs ({IterationsVariable} for more): {accepted:N0} accepted, rejected: {string.Join(", ", rejected)}"));
        if (iterations >= 100)
        {
            Assert.True(accepted > 0 && accepted < iterations, $"the generator should give both inputs that parse and inputs that do not ({accepted} of {iterations} parsed)");
        }
    }

    /// <summary>Valid inputs with one to four edits: tokens inserted or written over, spans deleted or repeated, truncation.</summary>
    public static Gen<T[]> Mutated<T>(this Gen<T[]> valid, Gen<T[]> tokens) =>
        Gen.Select(valid, Gen.Select(Gen.Int[0, 4], Gen.Double.Unit, Gen.Double.Unit, tokens).Array[1, 4])
            .Select(sample => sample.Item2.Aggregate(sample.Item1, (input, edit) => Edit(input, edit.Item1, edit.Item2, edit.Item3, edit.Item4)));

    /// <summary>Valid text with one to four edits (see <see cref="Mutated{T}(Gen{T[]}, Gen{T[]})"/>).</summary>
    public static Gen<string> Mutated(this Gen<string> valid, Gen<string> tokens) =>
        valid.Select(text => text.ToCharArray()).Mutated(tokens.Select(token => token.ToCharArray())).Select(chars => new string(chars));

    /// <summary>JSON values up to three levels deep: numbers, booleans, nulls, texts from <paramref name="words"/>, lists, and objects with keys from <paramref name="keys"/>.</summary>
    public static Gen<JsonNode?> Json(Gen<string> keys, Gen<string> words)
    {
        var scalar = Gen.OneOf(
            words.Select(word => (JsonNode?)JsonValue.Create(word)),
            Gen.Long.Select(number => (JsonNode?)JsonValue.Create(number)),
            Gen.Int[-2, 5].Select(number => (JsonNode?)JsonValue.Create(number)),
            Gen.Double.Select(number => double.IsFinite(number) ? (JsonNode?)JsonValue.Create(number) : null),
            Gen.Bool.Select(flag => (JsonNode?)JsonValue.Create(flag)),
            Gen.Const(() => (JsonNode?)null));
        return Gen.Recursive<JsonNode?>((depth, self) => depth >= 3
            ? scalar
            : Gen.Frequency(
                (4, scalar),
                (1, self.Array[0, 3].Select(items => (JsonNode?)new JsonArray(items))),
                (1, Gen.Select(keys, self).Array[0, 3].Select(fields =>
                {
                    var json = new JsonObject();
                    foreach (var (key, value) in fields)
                    {
                        json[key] = value;
                    }

                    return (JsonNode?)json;
                }))));
    }

    /// <summary>Valid JSON trees with one to three structural edits: a value replaced by <paramref name="values"/> or removed, or a key or item added.</summary>
    public static Gen<JsonNode> Restructured(this Gen<JsonNode> valid, Gen<string> keys, Gen<JsonNode?> values) =>
        Gen.Select(valid, Gen.Select(Gen.Int[0, 2], Gen.Double.Unit, Gen.Double.Unit, keys, values).Array[1, 3])
            .Select(sample => sample.Item2.Aggregate(sample.Item1.DeepClone(), (root, edit) => EditTree(root, edit.Item1, edit.Item2, edit.Item3, edit.Item4, edit.Item5?.DeepClone())));

    private static JsonNode EditTree(JsonNode root, int kind, double where, double which, string key, JsonNode? value)
    {
        var containers = Containers(root).ToList();
        switch (containers[(int)(where * containers.Count)])
        {
            case JsonObject json when kind == 2 || json.Count == 0:
                json[key] = value;
                break;
            case JsonObject json when kind == 1:
                json.Remove(json.GetAt((int)(which * json.Count)).Key);
                break;
            case JsonObject json:
                json[json.GetAt((int)(which * json.Count)).Key] = value;
                break;
            case JsonArray list when kind == 2 || list.Count == 0:
                list.Add(value);
                break;
            case JsonArray list when kind == 1:
                list.RemoveAt((int)(which * list.Count));
                break;
            case JsonArray list:
                list[(int)(which * list.Count)] = value;
                break;
        }

        return root;
    }

    private static IEnumerable<JsonNode> Containers(JsonNode? node) => node switch
    {
        JsonObject json => [json, .. json.SelectMany(field => Containers(field.Value))],
        JsonArray list => [list, .. list.SelectMany(Containers)],
        _ => [],
    };

    private static T[] Edit<T>(T[] input, int kind, double at, double span, T[] token)
    {
        var start = (int)(at * (input.Length + 1));
        var length = Math.Min(input.Length - start, 1 + (int)(span * 64));
        return kind switch
        {
            0 => [.. input[..start], .. token, .. input[start..]],
            1 => [.. input[..start], .. token, .. input[Math.Min(input.Length, start + token.Length)..]],
            2 => [.. input[..start], .. input[(start + length)..]],
            3 => [.. input[..(start + length)], .. input[start..]],
            _ => input[..start],
        };
    }
}
