using EvalMesh.Contracts;
using EvalMesh.Evaluation.Configuration;
using EvalMesh.Evaluation.Statistics;

namespace EvalMesh.Evaluation.Tests.Configuration;

public class ConfigLoaderTests
{
    private const string Valid = """
        description: formats on the Slack data
        datasets:
          - name: slack
            generate: { kind: slack, messages: 50, seed: 3, cases-per-category: 2 }
        suites:
          - name: slack
            dataset: slack
            generated: true
        formats: [oneline-json, csv, toon]
        tokenizers: [o200k_base]
        endpoints:
          - name: echo
            type: echo
          - name: tiny
            type: llama
            model: tiny-random
            adapter: adapter-1
            max-tokens: 16
          - name: gpt
            type: openai
            base-url: http://127.0.0.1:8080/v1
            model: gpt-4.1-mini
            api-key-env: OPENAI_API_KEY
        repeats: 3
        """;

    [Fact]
    public void Parse_ValidConfig_ReadsEverySection()
    {
        var config = ConfigLoader.Parse(Valid, "/tmp/evalmesh.yaml");
        Assert.Equal(["oneline-json", "csv", "toon"], config.Formats);
        Assert.Equal(3, config.Repeats);
        Assert.Equal(50, config.Datasets[0].Generate!.Messages);
        Assert.True(config.Suites[0].Generated);
        Assert.Equal(["echo", "tiny", "gpt"], config.Endpoints.Select(e => e.Name));
        Assert.Equal(16, config.Endpoints[1].MaxTokens);
        Assert.Equal("OPENAI_API_KEY", config.Endpoints[2].ApiKeyEnv);
        Assert.Contains("{{context}}", config.Prompt);
        Assert.Equal(RecommendSettings.Default, config.Recommend);
    }

    [Fact]
    public void Parse_SuiteContext_IsAllByDefault_OrRetrieved()
    {
        Assert.Null(ConfigLoader.Parse(Valid, "/tmp/evalmesh.yaml").Suites[0].Retrieve);
        Assert.Null(ConfigLoader.Parse(Valid.Replace("    generated: true", "    generated: true\n    context: all"), "/tmp/evalmesh.yaml").Suites[0].Retrieve);
        Assert.Equal(new RetrievalSettings("bm25", 7), ConfigLoader.Parse(Valid.Replace("    generated: true", "    generated: true\n    context: { retrieve: bm25, k: 7 }"), "/tmp/evalmesh.yaml").Suites[0].Retrieve);
    }

    [Fact]
    public void Parse_SystemMessageAndChatTemplate()
    {
        var config = ConfigLoader.Parse(Valid.Replace("    max-tokens: 16", "    max-tokens: 16\n    chat-template: llama3") + "\nsystem: Answer with permalinks only.\n", "/tmp/evalmesh.yaml");
        Assert.Equal("Answer with permalinks only.", config.System);
        Assert.Equal("llama3", config.Endpoints[1].ChatTemplate);
        Assert.Equal(ChatTemplates.Auto, config.Endpoints[0].ChatTemplate);
        Assert.Null(ConfigLoader.Parse(Valid, "/tmp/evalmesh.yaml").System);
    }

    private const string OpenAiKey = "    api-key-env: OPENAI_API_KEY";

    [Fact]
    public void Parse_RateLimitAndCost_ReadsThem_AndEachLimitMayBeLeftOut()
    {
        var config = ConfigLoader.Parse(Valid.Replace(OpenAiKey, OpenAiKey + """

                rate-limit: { requests-per-minute: 600, max-concurrency: 8 }
                cost: { input-per-mtok: 2.5, output-per-mtok: 10 }
            """), "/tmp/evalmesh.yaml");
        Assert.Equal(new RateLimit(600, null, 8), config.Endpoints[2].RateLimit);
        Assert.Equal(new EndpointPrice(2.5, 10), config.Endpoints[2].Cost);
        Assert.Equal(0.0125, config.Endpoints[2].Cost!.Of(1000, 1000), 9);
        Assert.Null(config.Endpoints[0].RateLimit);
        Assert.Null(config.Endpoints[0].Cost);

        var llama = ConfigLoader.Parse(Valid.Replace("    max-tokens: 16", "    max-tokens: 16\n    cost: { input-per-mtok: 0, output-per-mtok: 0.2 }"), "/tmp/evalmesh.yaml");
        Assert.Equal(new EndpointPrice(0, 0.2), llama.Endpoints[1].Cost);
    }

    [Fact]
    public void Parse_Recommend_ReadsTheMarginAndLevel()
    {
        var config = ConfigLoader.Parse(Valid + "\nrecommend: { margin: 0.05, alpha: 0.01 }\n", "/tmp/evalmesh.yaml");
        Assert.Equal(new RecommendSettings(0.05, 0.01), config.Recommend);
        Assert.Equal(new RecommendSettings(0.02, 0.05), ConfigLoader.Parse(Valid + "\nrecommend: { margin: 0.02 }\n", "/tmp/evalmesh.yaml").Recommend);
    }

    [Theory]
    [InlineData("repeats: 3", "repeatz: 3", 24, 1, "repeatz", "unknown key (did you mean 'repeats'?)")]
    [InlineData("formats: [oneline-json, csv, toon]", "formats: [oneline-json, csvv, toon]", 9, 25, "formats[1]", "unknown format 'csvv' (did you mean 'csv'?)")]
    [InlineData("tokenizers: [o200k_base]", "tokenizers: [o201k]", 10, 14, "tokenizers[0]", "unknown tokenizer 'o201k'")]
    [InlineData("    type: echo", "    type: ekko", 13, 11, "endpoints[0].type", "unknown endpoint type 'ekko'")]
    [InlineData("    max-tokens: 16", "    max-tokens: lots", 18, 17, "endpoints[1].max-tokens", "expected a whole number")]
    [InlineData("repeats: 3", "repeats: 0", 24, 10, "repeats", "must be between 1 and 1000")]
    [InlineData("    base-url: http://127.0.0.1:8080/v1", "    base-url: nowhere", 21, 15, "endpoints[2].base-url", "needs an http(s) base URL")]
    [InlineData("    dataset: slack", "    dataset: slak", 7, 14, "suites[0].dataset", "unknown dataset 'slak'")]
    [InlineData("    generate: { kind: slack, messages: 50, seed: 3, cases-per-category: 2 }", "    generate: { kind: slack, mesages: 50 }", 4, 30, "datasets[0].generate.mesages", "did you mean 'messages'")]
    [InlineData("cases-per-category: 2 }", "cases-per-category: 2, categories: [index, thraed] }", 4, 96, "datasets[0].generate.categories[1]", "unknown category 'thraed' (did you mean 'thread'?); known categories: index, content, user, compound, thread")]
    [InlineData("cases-per-category: 2 }", "cases-per-category: 2, categories: [] }", 4, 88, "datasets[0].generate.categories", "must name at least one")]
    [InlineData("repeats: 3", "repeats: 3\nrecommend: { margin: 0.5 }", 25, 22, "recommend.margin", "must be above 0 and below 0.5 (the largest drop in accuracy a cheaper format may have, as a fraction: 0.03 is 3 points)")]
    [InlineData("repeats: 3", "repeats: 3\nrecommend: { margin: 0 }", 25, 22, "recommend.margin", "must be above 0 and below 0.5")]
    [InlineData("repeats: 3", "repeats: 3\nrecommend: { margin: 3 }", 25, 22, "recommend.margin", "must be above 0 and below 0.5")]
    [InlineData("repeats: 3", "repeats: 3\nrecommend: { alpha: 0.5 }", 25, 21, "recommend.alpha", "must be above 0 and below 0.5 (the one-sided significance level: 0.05 is 5%)")]
    [InlineData("repeats: 3", "repeats: 3\nrecommend: { margn: 0.1 }", 25, 14, "recommend.margn", "unknown key (did you mean 'margin'?)")]
    [InlineData("    generated: true", "    generated: true\n    context: { retrieve: bm26, k: 3 }", 9, 26, "suites[0].context.retrieve", "unknown retrieval method 'bm26' (did you mean 'bm25'?)")]
    [InlineData("    generated: true", "    generated: true\n    context: { retrieve: bm25, k: 0 }", 9, 35, "suites[0].context.k", "must be between 1 and 100000")]
    [InlineData("    generated: true", "    generated: true\n    context: some", 9, 14, "suites[0].context", "must be 'all' or { retrieve: bm25, k: N }")]
    [InlineData("    max-tokens: 16", "    max-tokens: 16\n    chat-template: chatmll", 19, 20, "endpoints[1].chat-template", "unknown chat template 'chatmll' (did you mean 'chatml'?)")]
    [InlineData("    api-key-env: OPENAI_API_KEY", "    api-key-env: OPENAI_API_KEY\n    chat-template: chatml", 24, 20, "endpoints[2].chat-template", "only a llama endpoint renders a chat template")]
    [InlineData(OpenAiKey, OpenAiKey + "\n    rate-limit: { requests-per-minute: 0 }", 24, 40, "endpoints[2].rate-limit.requests-per-minute", "must be at least 1, not 0 (leave it out for no limit)")]
    [InlineData(OpenAiKey, OpenAiKey + "\n    rate-limit: { tokens-per-minute: 0 }", 24, 38, "endpoints[2].rate-limit.tokens-per-minute", "must be at least 1, not 0")]
    [InlineData(OpenAiKey, OpenAiKey + "\n    rate-limit: { max-concurrency: -3 }", 24, 36, "endpoints[2].rate-limit.max-concurrency", "must be at least 1, not -3")]
    [InlineData(OpenAiKey, OpenAiKey + "\n    rate-limit: {}", 24, 17, "endpoints[2].rate-limit", "give at least one of requests-per-minute, tokens-per-minute, max-concurrency")]
    [InlineData(OpenAiKey, OpenAiKey + "\n    rate-limit: { requests-per-second: 10 }", 24, 19, "endpoints[2].rate-limit.requests-per-second", "unknown key (did you mean 'requests-per-minute'?)")]
    [InlineData("    max-tokens: 16", "    max-tokens: 16\n    rate-limit: { requests-per-minute: 60 }", 19, 17, "endpoints[1].rate-limit", "only an openai endpoint has a cluster-wide rate limit")]
    [InlineData(OpenAiKey, OpenAiKey + "\n    cost: { input-per-mtok: -1, output-per-mtok: 2 }", 24, 29, "endpoints[2].cost.input-per-mtok", "must not be negative, not -1 (the price of a million prompt tokens)")]
    [InlineData(OpenAiKey, OpenAiKey + "\n    cost: { input-per-mtok: 1, output-per-mtok: -0.5 }", 24, 49, "endpoints[2].cost.output-per-mtok", "must not be negative, not -0.5 (the price of a million completion tokens)")]
    [InlineData(OpenAiKey, OpenAiKey + "\n    cost: { input-per-mtok: 1 }", 24, 11, "endpoints[2].cost.output-per-mtok", "the price of a million completion tokens is required (0 if they are free)")]
    [InlineData("    type: echo", "    type: echo\n    cost: { input-per-mtok: 1, output-per-mtok: 1 }", 14, 11, "endpoints[0].cost", "an echo endpoint reports no token usage to price")]
    public void Parse_Mistake_NamesFileLineColumnAndKey(string good, string bad, int line, int column, string key, string problem)
    {
        var ex = Assert.Throws<EvalMeshInputException>(() => ConfigLoader.Parse(Valid.Replace(good, bad), "/tmp/evalmesh.yaml"));
        Assert.Equal("/tmp/evalmesh.yaml", ex.File);
        Assert.Equal(line, ex.Line);
        Assert.Equal(column, ex.Column);
        Assert.Equal(key, ex.Setting);
        Assert.Contains(problem, ex.Message);
        Assert.StartsWith($"/tmp/evalmesh.yaml:{line}:{column}: '{key}': ", ex.Message);
    }

    [Fact]
    public void Parse_GeneratedDatasetWithRecordsPerCase_ReadsIt()
    {
        var config = ConfigLoader.Parse(Valid.Replace("cases-per-category: 2 }", "cases-per-category: 2, records-per-case: 4 }"), "/tmp/evalmesh.yaml");
        Assert.Equal(4, config.Datasets[0].Generate!.RecordsPerCase);
        Assert.Null(ConfigLoader.Parse(Valid, "/tmp/evalmesh.yaml").Datasets[0].Generate!.RecordsPerCase);
    }

    [Fact]
    public void Parse_GeneratedDatasetWithCategories_ReadsThem()
    {
        var config = ConfigLoader.Parse(Valid.Replace("cases-per-category: 2 }", "cases-per-category: 2, categories: [index, thread] }"), "/tmp/evalmesh.yaml");
        Assert.Equal(["index", "thread"], config.Datasets[0].Generate!.Categories!);
        Assert.Null(ConfigLoader.Parse(Valid, "/tmp/evalmesh.yaml").Datasets[0].Generate!.Categories);
    }

    [Fact]
    public void Parse_InlineCaseNamingARecordBeyondTheGeneratedDataset_NamesLineAndKey()
    {
        var inline = Valid.Replace("    generated: true", """
                cases:
                  - question: Which one?
                    expected: [x]
                    records: [2, 51]
            """);
        var ex = Assert.Throws<EvalMeshInputException>(() => ConfigLoader.Parse(inline, "/tmp/evalmesh.yaml"));
        Assert.Equal(11, ex.Line);
        Assert.Equal("suites[0].cases[0].records[1]", ex.Setting);
        Assert.Contains("record 51 is not in the dataset, which has 50 records", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_BrokenYaml_NamesTheLine()
    {
        var ex = Assert.Throws<EvalMeshInputException>(() => ConfigLoader.Parse("datasets:\n  - name: [unclosed\nformats: x", "cfg.yaml"));
        Assert.Equal("cfg.yaml", ex.File);
        Assert.NotNull(ex.Line);
        Assert.Contains("invalid YAML", ex.Message);
    }

    [Fact]
    public void Load_MissingFile_SaysSo()
    {
        var ex = Assert.Throws<EvalMeshInputException>(() => ConfigLoader.Load("/nonexistent/evalmesh.yaml"));
        Assert.Equal("/nonexistent/evalmesh.yaml: file not found", ex.Message);
    }

    [Fact]
    public void Parse_InlineCases_ValidatesScorersAndPatterns()
    {
        var config = Valid.Replace("    generated: true", """
                cases:
                  - id: a
                    question: Which city?
                    expected: Tokyo
                    scorer: { type: exact, ignore-case: true }
                  - id: b
                    question: JSON?
                    expected: { a: 1, b: [1, 2] }
                    scorer: json-equals
            """);
        var parsed = ConfigLoader.Parse(config, "/tmp/evalmesh.yaml");
        Assert.True(parsed.Suites[0].Cases[0].Scorer.IgnoreCase);
        Assert.Equal("""{"a":1,"b":[1,2]}""", parsed.Suites[0].Cases[1].Expected[0]);

        var badPattern = config.Replace("scorer: { type: exact, ignore-case: true }", "scorer: regex").Replace("expected: Tokyo", "expected: '(unclosed'");
        Assert.Contains("invalid regular expression", Assert.Throws<EvalMeshInputException>(() => ConfigLoader.Parse(badPattern, "/tmp/e.yaml")).Message);
    }

    // Found by ConfigLoaderFuzzTests and the bad-input corpus: each of these used to end in an exception that was no
    // EvalMeshInputException (a stack trace from the CLI, a 500 from the REST API) or in a stack overflow.
    [Theory]
    [InlineData("? [a, b]\n: 1\n", 1, 3, "expected a key name here, not a list or mapping")]
    [InlineData("datasets:\n  - : me: file\n", 3, 1, "invalid YAML")]
    [InlineData("datasets: &a [*a]\n", 1, 15, "invalid YAML: aliases (*a) are not supported; write the value out")]
    [InlineData("datasets:\n  - name: d\n    path: \"\\0\"\n", 3, 11, "'datasets[0].path': not a valid path")]
    public void Parse_InputThatUsedToCrash_IsAnInputError(string text, int line, int column, string problem)
    {
        var ex = Assert.Throws<EvalMeshInputException>(() => ConfigLoader.Parse(text, "/tmp/e.yaml"));
        Assert.Equal((line, column), (ex.Line, ex.Column));
        Assert.Contains(problem, ex.Message);
    }

    [Fact]
    public void Parse_NestingDeeperThan64_IsAnErrorInsteadOfAStackOverflow()
    {
        var ex = Assert.Throws<EvalMeshInputException>(() => ConfigLoader.Parse("datasets: " + new string('[', 200_000) + new string(']', 200_000), "/tmp/e.yaml"));
        Assert.Equal("/tmp/e.yaml:1:74: invalid YAML: nested deeper than 64 levels", ex.Message);
    }

    [Fact]
    public void Parse_NestedAliases_AreRejectedBeforeTheyExpand()
    {
        var laughs = string.Concat(Enumerable.Range(1, 9).Select(i => $"  a{i}: &a{i} [{string.Join(", ", Enumerable.Repeat($"*a{i - 1}", 10))}]\n"));
        var config = Valid.Replace("    generated: true", "    cases:\n      - question: q\n        scorer: json-equals\n        expected:\n          a0: &a0 [x]\n" + laughs.Replace("  a", "          a"));
        Assert.Contains("aliases (*a0) are not supported", Assert.Throws<EvalMeshInputException>(() => ConfigLoader.Parse(config, "/tmp/e.yaml")).Message);
    }

    [Fact]
    public void Parse_JsonValueWithAListAsKey_NamesItsLine()
    {
        var config = Valid.Replace("    generated: true", "    cases:\n      - question: q\n        scorer: json-equals\n        expected: { [a]: 1 }");
        var ex = Assert.Throws<EvalMeshInputException>(() => ConfigLoader.Parse(config, "/tmp/e.yaml"));
        Assert.Equal("/tmp/e.yaml:11:21: 'suites[0].cases[0].expected': expected a key name here, not a list or mapping", ex.Message);
    }

    [Theory]
    [InlineData("\"descr\\niption\": x", "'descr\\niption': unknown key")]
    [InlineData("\"descr\\u200Biption\": x", "'descr\\u200Biption': unknown key")]
    [InlineData("\"\\e[31mred\": x", "'\\u001B[31mred': unknown key")]
    public void Parse_KeyWithLineBreaksOrInvisibleCharacters_IsNamedOnOneVisibleLine(string line, string expected)
    {
        var ex = Assert.Throws<EvalMeshInputException>(() => ConfigLoader.Parse(Valid + "\n" + line, "/tmp/e.yaml"));
        Assert.Contains(expected, ex.Message);
        Assert.DoesNotContain(ex.Message, c => char.IsControl(c) || char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format);
    }
}

public class ConfigLoaderUploadTests
{
    private const string Uploaded = """
        datasets:
          - name: people
            upload: 0cd4e95bf80e2670
        suites:
          - name: who
            dataset: people
            upload: 9e1b6d3f9a2c5074
        endpoints:
          - name: echo
            type: echo
        """;

    [Fact]
    public void Parse_UploadedDatasetAndSuite_AreNamedByContentId()
    {
        var config = ConfigLoader.ParseSent(Uploaded, "request body");
        Assert.Equal(("0cd4e95bf80e2670", null, null), (config.Datasets[0].Upload, config.Datasets[0].Path, config.Datasets[0].Generate));
        Assert.Equal(("9e1b6d3f9a2c5074", null), (config.Suites[0].Upload, config.Suites[0].Path));
        Assert.Equal("request body", config.File);
    }

    // A mistake as (the good text, the bad text put in its place, the message).
    public static TheoryData<string, string, string> SentMistakes() => new()
    {
        { "upload: 0cd4e95bf80e2670", "upload: 0CD4E95BF80E2670", "request body:3:13: 'datasets[0].upload': expected the content id of an uploaded dataset: 16 hexadecimal digits (0-9, a-f)" },
        { "upload: 9e1b6d3f9a2c5074", "upload: 9e1b", "request body:7:13: 'suites[0].upload': expected the content id of an uploaded suite: 16 hexadecimal digits (0-9, a-f)" },
        { "upload: 0cd4e95bf80e2670", "upload: 0cd4e95bf80e2670\n    path: people.jsonl", "request body:4:11: 'datasets[0].path': give one of 'path', 'generate' or 'upload'" },
        { "upload: 0cd4e95bf80e2670", "path: people.jsonl", "request body:3:11: 'datasets[0].path': a config sent from another machine cannot name dataset files, which are the sender's: upload the dataset and name it with 'upload: ID' (evalmesh run --server and the HTTP SDK do this)" },
        { "upload: 9e1b6d3f9a2c5074", "path: who.suite.yaml", "request body:7:11: 'suites[0].path': a config sent from another machine cannot name suite files, which are the sender's: upload the suite and name it with 'upload: ID' (evalmesh run --server and the HTTP SDK do this)" },
        { "type: echo", "type: llama\n    model: models/x.gguf", "request body:11:12: 'endpoints[0].model': a config sent from another machine names files as the silos see them: give an absolute path (or a model name)" },
    };

    [Theory]
    [MemberData(nameof(SentMistakes))]
    public void ParseSent_Mistake_NamesTheRequestBody_NeverAPathOfThisMachine(string good, string bad, string expected)
    {
        var error = Assert.Throws<EvalMeshInputException>(() => ConfigLoader.ParseSent(Uploaded.Replace(good, bad, StringComparison.Ordinal), "request body"));
        Assert.Equal(expected, error.Message);
        Assert.DoesNotContain(Directory.GetCurrentDirectory(), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseSent_AbsoluteModelPath_IsKeptAsTheSilosSeeIt()
    {
        var config = ConfigLoader.ParseSent(Uploaded.Replace("type: echo", "type: llama\n    model: /models/x.gguf", StringComparison.Ordinal), "request body");
        Assert.Equal("/models/x.gguf", config.Endpoints[0].Model);
    }

    [Fact]
    public void Parse_LocalConfig_MayNameUploadsToo()
    {
        var config = ConfigLoader.Parse(Uploaded, "/tmp/evalmesh.yaml");
        Assert.Equal("0cd4e95bf80e2670", config.Datasets[0].Upload);
    }
}
