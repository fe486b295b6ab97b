using System.Text.Json.Nodes;
using CsCheck;
using EvalMesh.Evaluation.Configuration;
using EvalMesh.Testing;
using YamlDotNet.RepresentationModel;

namespace EvalMesh.Evaluation.Tests.Configuration;

/// <summary>
/// The config parser fed random text, valid configs with text edits (YAML syntax, anchors, deep nesting, odd Unicode),
/// and valid configs with structural edits (a value of the wrong type, a key removed, an unknown key): it accepts the
/// config or throws <see cref="EvalMeshInputException"/>, nothing else.
/// </summary>
public class ConfigLoaderFuzzTests
{
    private static readonly string[] Seeds =
    [
        """
        description: every section
        datasets:
          - name: slack
            generate: { kind: slack, messages: 20, seed: 3, cases-per-category: 1, workspace: acme }
          - name: file
            path: data/records.jsonl
        suites:
          - name: generated
            dataset: slack
            generated: true
          - name: inline
            dataset: file
            cases:
              - id: a
                question: Which city?
                expected: [Tokyo, Kyoto]
                scorer: { type: exact, ignore-case: true, nfkc: false, trim: true }
                tags: [geo]
              - question: JSON?
                expected: { a: 1, b: [1, 2, { c: null }] }
                scorer: json-equals
              - question: Pattern?
                expected: '^\d+$'
                scorer: regex
              - question: How many?
                expected: 42
                scorer: { type: numeric, tolerance: 0.5 }
              - question: Links?
                expected: [https://a.example/1, https://a.example/2]
                scorer: { type: url-set, min-f1: 0.5 }
              - question: Polite?
                expected: yes
                scorer: { type: llm-judge, rubric: Is it polite? }
          - name: from-file
            dataset: file
            path: suites/suite.yaml
        formats: [oneline-json, csv, toon, xml]
        tokenizers: o200k_base
        adapters:
          - name: support
            base: tiny
            path: adapters/support.gguf
        endpoints:
          - name: tiny
            type: llama
            model: tiny-random
            adapter: support
            max-tokens: 16
            temperature: 0.7
          - name: gpt
            type: openai
            base-url: https://api.example.com/v1
            model: gpt-4.1-mini
            api-key-env: OPENAI_API_KEY
            timeout-seconds: 30
            max-concurrency: 4
        judge: { name: judge, type: echo }
        prompt: "{{format}}: {{context}} then {{question}}"
        repeats: 2
        concurrency: 8
        schedule: fifo
        """,
        """
        datasets: [{ name: d, generate: { messages: 10 } }]
        suites: [{ name: s, dataset: d, generated: true }]
        endpoints: [{ name: e, type: echo }]
        """,
    ];

    private static readonly Gen<string> Seed = Gen.OneOf(Seeds);

    // YAML's syntax, its odd corners (anchors, tags, directives, complex keys), values of every type, and Unicode that
    // is easy to get wrong: a BOM, NUL, a lone surrogate, right-to-left override, zero-width space, emoji.
    private static readonly Gen<string> Token = Gen.OneOf(
        Gen.OneOf(": ", "- ", "[", "]", "{", "}", ",", "? ", "&a ", "*a", "&b [*b]", "&c {k: *c}", "!!str ", "!!binary ", "!!map ",
            "!custom ", "|\n  x\n", ">-\n", "\"", "'", "\\", "#", "%YAML 1.1\n", "%TAG ! tag:x,2024:\n", "---\n", "...\n", "\t", "\n",
            "\r\n", "  ", "~", "null", "true", "0x1F", "1e400", "-0", ".nan", "99999999999999999999", "<<: *a\n", "@", "`", "%",
            "? [k]\n: v\n", "{[k]: v}", "\0", "\uFEFF", "\uD800", "\u202E", "\u200B", "😀", "日本語", "ｃｓｖ", "\u0085", "\u2028"),
        Gen.Int[60, 200].Select(depth => new string('[', depth) + new string(']', depth)),
        Gen.Int[60, 200].Select(depth => string.Concat(Enumerable.Repeat("{a: ", depth)) + new string('}', depth)),
        Gen.Char.Array[1, 12].Select(chars => new string(chars)));

    private static readonly Gen<string> Word = Gen.OneOf(
        Gen.OneOf("csv", "toon", "tooon", "echo", "llama", "openai", "tiny", "adapter-1", "adapter-9", "slack", "d", "s", "e", "exact",
            "regex", "json-equals", "llm-judge", "o200k_base", "fifo", "adapter-aware", "http://127.0.0.1:1/v1", "ftp://x", "{{context}} {{question}}",
            "{{question}} {{context}}", "(", "", " ", "..", "/", "\0", "a\nb", "\u202Eevil", "😀", new string('x', 5000)),
        Gen.String);

    private static readonly Gen<string> Key = Gen.OneOf(
        Gen.OneOf("description", "datasets", "suites", "formats", "tokenizers", "endpoints", "adapters", "judge", "prompt", "repeats",
            "concurrency", "schedule", "name", "path", "generate", "kind", "messages", "seed", "cases-per-category", "workspace", "dataset",
            "generated", "cases", "id", "question", "expected", "scorer", "tags", "type", "trim", "ignore-case", "nfkc", "tolerance", "min-f1",
            "rubric", "model", "adapter", "base", "base-url", "api-key-env", "max-tokens", "temperature", "timeout-seconds", "max-concurrency"),
        Gen.String[Gen.Char.AlphaNumeric, 0, 12]);

    private static readonly Gen<string> Restructured = Seed.Select(Tree).Restructured(Key, Fuzz.Json(Key, Word)).Select(tree => tree.ToJsonString());

    [Fact]
    public void Seeds_AreValidConfigs()
    {
        foreach (var seed in Seeds)
        {
            Assert.NotEmpty(ConfigLoader.Parse(seed, "/fuzz/evalmesh.yaml").Endpoints);
        }
    }

    [Fact]
    public void Parse_AnyText_AcceptsOrThrowsEvalMeshInputException() => Fuzz.Parser(
        Gen.Frequency((1, Gen.String), (1, Token.Array[0, 40].Select(string.Concat)), (3, Seed.Mutated(Token)), (3, Restructured)),
        text => ConfigLoader.Parse(text, "/fuzz/evalmesh.yaml"),
        ciIterations: 2_000,
        [typeof(EvalMeshInputException)]);

    private static JsonNode Tree(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return YamlJson.ToJson(stream.Documents[0].RootNode)!;
    }
}
