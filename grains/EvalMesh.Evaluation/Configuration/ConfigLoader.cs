using EvalMesh.Contracts;
using EvalMesh.Evaluation.Formats;
using EvalMesh.Evaluation.Generation;
using EvalMesh.Evaluation.Suites;
using EvalMesh.Evaluation.Tokenization;

namespace EvalMesh.Evaluation.Configuration;

/// <summary>Reads and validates <c>evalmesh.yaml</c>. Every error names the file, line, column and key.</summary>
public static partial class ConfigLoader
{
    /// <summary>Reads a config file.</summary>
    /// <exception cref="EvalMeshInputException">The file is missing or invalid.</exception>
    public static EvalConfig Load(string path, TokenizerRegistry? tokenizers = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new EvalMeshInputException("file not found", path);
        }

        return Parse(File.ReadAllText(path), Path.GetFullPath(path), tokenizers);
    }

    /// <summary>Parses config text; relative paths in it are resolved against <paramref name="file"/>'s folder.</summary>
    public static EvalConfig Parse(string text, string file, TokenizerRegistry? tokenizers = null) =>
        Parse(text, file, Path.GetDirectoryName(Path.GetFullPath(file)) ?? Directory.GetCurrentDirectory(), tokenizers);

    /// <summary>
    /// Parses config text that was sent from another machine, such as a request body: errors name
    /// <paramref name="source"/>, and nothing in it is read from this machine's files, since the sender's are not
    /// here. Its datasets and suites are uploads (<c>upload: ID</c>), generated or inline; a model or adapter file must
    /// be an absolute path as this machine sees it (its folder is not the sender's).
    /// </summary>
    public static EvalConfig ParseSent(string text, string source, TokenizerRegistry? tokenizers = null) =>
        Parse(text, source, folder: null, tokenizers);

    // A null folder: the config was sent, so it names no files of its own (see ParseSent).
    private static EvalConfig Parse(string text, string file, string? folder, TokenizerRegistry? tokenizers)
    {
        var root = YamlObject.Parse(text, file);
        root.AllowOnly("description", "datasets", "suites", "formats", "tokenizers", "endpoints", "adapters", "judge", "prompt", "repeats", "concurrency", "schedule", "limit", "recommend", "system");

        var datasets = Unique(root, "datasets", root.MappingList("datasets").Select(d => ReadDataset(d, folder)).ToList(), d => d.Name);
        if (datasets.Count == 0)
        {
            throw root.Error("datasets", "at least one dataset is required");
        }

        var suites = Unique(root, "suites", root.MappingList("suites").Select(s => ReadSuite(s, folder, datasets)).ToList(), s => s.Name);
        if (suites.Count == 0)
        {
            throw root.Error("suites", "at least one suite is required");
        }

        var adapters = Unique(root, "adapters", root.MappingList("adapters").Select(a => ReadAdapter(a, folder)).ToList(), a => a.Name);
        var endpointItems = root.MappingList("endpoints");
        var endpoints = Unique(root, "endpoints", endpointItems.Select(e => ReadEndpoint(e, folder, adapters)).ToList(), e => e.Name);
        if (endpoints.Count == 0)
        {
            throw root.Error("endpoints", "at least one endpoint is required");
        }

        var judge = root.Mapping("judge") is { } judgeItem ? ReadEndpoint(judgeItem, folder, adapters) : null;
        if (judge is null && suites.SelectMany(s => s.Cases).FirstOrDefault(c => c.Scorer.Type == "llm-judge") is { } judged)
        {
            throw root.Error("judge", $"case '{judged.Id}' uses the llm-judge scorer, so a 'judge' endpoint is required");
        }

        var formats = root.TextList("formats") ?? ["oneline-json", "pretty-json", "csv"];
        CheckNames(root, "formats", formats, name => RecordFormats.Get(name));
        var registry = tokenizers ?? TokenizerRegistry.Shared;
        var tokenizerNames = root.TextList("tokenizers") ?? TokenizerRegistry.BuiltInNames;
        CheckNames(root, "tokenizers", tokenizerNames, name => registry.Get(name));

        var prompt = root.Text("prompt") ?? EvalConfig.DefaultPrompt;
        if (!prompt.Contains("{{context}}", StringComparison.Ordinal) || !prompt.Contains("{{question}}", StringComparison.Ordinal))
        {
            throw root.Error("prompt", "must contain {{context}} and {{question}}");
        }

        if (prompt.IndexOf("{{question}}", StringComparison.Ordinal) < prompt.IndexOf("{{context}}", StringComparison.Ordinal))
        {
            throw root.Error("prompt", "{{context}} must come before {{question}}, so that every question shares the context's prefix");
        }

        var schedule = root.Text("schedule") is { } scheduleName ? Named<RunSchedule>(root, "schedule", "schedule", scheduleName) : RunSchedule.AdapterAware;

        return new EvalConfig(
            file,
            root.Text("description"),
            datasets,
            suites,
            formats,
            tokenizerNames,
            endpoints,
            adapters,
            prompt,
            root.WholeNumber("repeats", 1, 1000) ?? 1,
            root.WholeNumber("concurrency", 1, 4096) ?? 16,
            judge,
            schedule,
            root.WholeNumber("limit", 1, int.MaxValue),
            root.Mapping("recommend") is { } recommend ? ReadRecommend(recommend) : RecommendSettings.Default,
            root.Text("system"),
            endpointItems.Select((item, i) => KeyValuePair.Create($"endpoints[{i}].model", item.PlaceOf("model"))).ToDictionary());
    }

    private static RecommendSettings ReadRecommend(YamlObject item)
    {
        item.AllowOnly("margin", "alpha");
        return new RecommendSettings(
            Fraction(item, "margin", "the largest drop in accuracy a cheaper format may have, as a fraction: 0.03 is 3 points") ?? RecommendSettings.DefaultMargin,
            Fraction(item, "alpha", "the one-sided significance level: 0.05 is 5%") ?? RecommendSettings.DefaultAlpha);
    }

    // A fraction strictly between 0 and 0.5: a margin of 0 can never be shown, and of half the scale means nothing.
    private static double? Fraction(YamlObject item, string key, string meaning) =>
        item.Number(key) is not { } value ? null
            : value > 0 && value < 0.5 ? value
            : throw item.Error(key, $"must be above 0 and below 0.5 ({meaning})");

    private static DatasetConfig ReadDataset(YamlObject item, string? folder)
    {
        item.AllowOnly("name", "path", "generate", "upload");
        var name = item.RequiredText("name");
        var path = item.Text("path");
        var generate = item.Mapping("generate");
        var upload = ReadUpload(item, "dataset");
        if ((path is null ? 0 : 1) + (generate is null ? 0 : 1) + (upload is null ? 0 : 1) != 1)
        {
            throw item.Error("path", "give one of 'path', 'generate' or 'upload'");
        }

        SlackGeneratorOptions? options = null;
        if (generate is not null)
        {
            generate.AllowOnly("kind", "messages", "seed", "cases-per-category", "workspace", "records-per-case", "categories");
            var kind = generate.Text("kind") ?? "slack";
            if (kind != "slack")
            {
                throw generate.Error("kind", $"unknown generator '{kind}'; known generators: slack");
            }

            var defaults = new SlackGeneratorOptions();
            options = new SlackGeneratorOptions(
                generate.WholeNumber("messages", 4, 1_000_000) ?? defaults.Messages,
                generate.WholeNumber("seed") ?? defaults.Seed,
                generate.WholeNumber("cases-per-category", 0, 100_000) ?? defaults.CasesPerCategory,
                generate.Text("workspace") ?? defaults.Workspace,
                generate.WholeNumber("records-per-case", 1, 1_000_000),
                generate.TextList("categories"));
            if (options.Categories is { } categories)
            {
                CheckNames(generate, "categories", categories, SlackGenerator.CheckCategory);
            }
        }

        return new DatasetConfig(name, path is null ? null : ResolveInput(item, folder, path, "dataset"), options, upload);
    }

    private static SuiteConfig ReadSuite(YamlObject item, string? folder, IReadOnlyList<DatasetConfig> datasets)
    {
        item.AllowOnly("name", "dataset", "path", "generated", "cases", "context", "upload");
        var name = item.RequiredText("name");
        var dataset = item.RequiredText("dataset");
        var target = datasets.FirstOrDefault(d => d.Name == dataset)
            ?? throw item.Error("dataset", new UnknownNameException("dataset", dataset, [.. datasets.Select(d => d.Name)]).Message);
        var path = item.Text("path");
        var generated = item.Flag("generated") ?? false;
        var cases = SuiteFile.ReadCases(item, "cases", target.Generate?.Messages);
        var upload = ReadUpload(item, "suite");
        var sources = (path is null ? 0 : 1) + (generated ? 1 : 0) + (cases.Count > 0 ? 1 : 0) + (upload is null ? 0 : 1);
        if (sources != 1)
        {
            throw item.Error("path", "give exactly one of 'path', 'generated: true', 'cases' or 'upload'");
        }

        if (generated && target.Generate is null)
        {
            throw item.Error("generated", $"dataset '{dataset}' is not generated, so it has no generated suite");
        }

        return new SuiteConfig(name, dataset, path is null ? null : ResolveInput(item, folder, path, "suite"), generated, cases, ReadContext(item), upload);
    }

    // context: all (the default), or { retrieve: bm25, k: 10 }.
    private static RetrievalSettings? ReadContext(YamlObject suite)
    {
        if (!suite.Has("context") || suite.IsScalar("context"))
        {
            return suite.Text("context") is null or "all" ? null : throw suite.Error("context", "must be 'all' or { retrieve: bm25, k: N }");
        }

        var context = suite.Mapping("context")!;
        context.AllowOnly("retrieve", "k");
        var method = context.RequiredText("retrieve");
        if (!RetrievalSettings.Methods.Contains(method, StringComparer.Ordinal))
        {
            throw context.Error("retrieve", new UnknownNameException("retrieval method", method, RetrievalSettings.Methods).Message);
        }

        return new RetrievalSettings(method, context.WholeNumber("k", 1, 100_000) ?? throw context.Error("k", "how many records each question is given is required"));
    }

    /// <summary>The content id under <c>upload</c>, if any: 16 hexadecimal digits, as the cluster names what it stores.</summary>
    private static string? ReadUpload(YamlObject item, string what) =>
        item.Text("upload") is not { } id ? null
            : IsContentId(id) ? id
            : throw item.Error("upload", $"expected the content id of an uploaded {what}: 16 hexadecimal digits (0-9, a-f)");

    /// <summary>Whether <paramref name="id"/> has the shape of a content id: 16 lowercase hexadecimal digits.</summary>
    public static bool IsContentId(string id) => id is { Length: 16 } && id.All(char.IsAsciiHexDigitLower);

    // A dataset or suite file of a sent config would be the receiver's, never the sender's: it must be uploaded.
    private static string ResolveInput(YamlObject item, string? folder, string path, string what) =>
        folder is null
            ? throw item.Error("path", $"a config sent from another machine cannot name {what} files, which are the sender's: upload the {what} and name it with 'upload: ID' (evalmesh run --server and the HTTP SDK do this)")
            : Resolve(item, "path", folder, path);

    private static AdapterConfig ReadAdapter(YamlObject item, string? folder)
    {
        item.AllowOnly("name", "base", "path");
        var path = item.RequiredText("path");
        return new AdapterConfig(item.RequiredText("name"), item.RequiredText("base"), IsBuiltIn(path) ? path : Resolve(item, "path", folder, path));
    }

    private static EndpointConfig ReadEndpoint(YamlObject item, string? folder, IReadOnlyList<AdapterConfig> adapters)
    {
        item.AllowOnly("name", "type", "model", "adapter", "base-url", "api-key-env", "max-tokens", "temperature", "top-p", "timeout-seconds", "max-concurrency", "cache", "chat-template", "rate-limit", "cost");
        var type = Named<EndpointType>(item, "type", "endpoint type", item.RequiredText("type"));

        var model = item.Text("model");
        var adapter = item.Text("adapter");
        var baseUrl = item.Text("base-url");
        switch (type)
        {
            case EndpointType.Llama:
                model ??= BuiltInModels.Tiny;
                model = IsBuiltIn(model) ? model : Resolve(item, "model", folder, model);
                if (adapter is not null && !adapters.Any(a => a.Name == adapter))
                {
                    adapter = IsBuiltIn(adapter) ? adapter : Resolve(item, "adapter", folder, adapter);
                }

                break;
            case EndpointType.OpenAi:
                if (model is null)
                {
                    throw item.Error("model", "an openai endpoint needs the model name");
                }

                if (baseUrl is null || !Uri.TryCreate(baseUrl, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                {
                    throw item.Error("base-url", "an openai endpoint needs an http(s) base URL");
                }

                break;
        }

        var topP = item.Number("top-p", 0, 1) ?? 1;
        if (topP == 0)
        {
            throw item.Error("top-p", "must be above 0 (1 samples among all tokens)");
        }

        var chatTemplate = item.Text("chat-template") ?? ChatTemplates.Auto;
        if (!ChatTemplates.Names.Contains(chatTemplate, StringComparer.Ordinal))
        {
            throw item.Error("chat-template", new UnknownNameException("chat template", chatTemplate, ChatTemplates.Names).Message);
        }

        if (type != EndpointType.Llama && item.Text("chat-template") is not null)
        {
            throw item.Error("chat-template", "only a llama endpoint renders a chat template; an openai endpoint is sent the messages as they are");
        }

        return new EndpointConfig(
            item.RequiredText("name"),
            type,
            model,
            adapter,
            baseUrl,
            item.Text("api-key-env"),
            item.WholeNumber("max-tokens", 1, 1_000_000) ?? 32,
            item.Number("temperature", 0, 2) ?? 0,
            item.WholeNumber("timeout-seconds", 1, 3600) ?? 60,
            item.WholeNumber("max-concurrency", 1, 4096) ?? 16,
            item.Flag("cache") ?? true,
            topP,
            chatTemplate,
            ReadRateLimit(item, type),
            ReadCost(item, type));
    }

    // Built-in names (the tiny models and their adapters) are not paths.
    private static bool IsBuiltIn(string value) => BuiltInModels.IsModel(value) || value.StartsWith("adapter-", StringComparison.Ordinal) && !value.Contains('/', StringComparison.Ordinal) && !value.EndsWith(".gguf", StringComparison.Ordinal);

    private static string Resolve(YamlObject item, string key, string? folder, string path) =>
        path.AsSpan().IndexOfAny(Path.GetInvalidPathChars()) >= 0 ? throw item.Error(key, "not a valid path: it contains a character that paths cannot hold, such as NUL")
            : folder is not null ? Path.GetFullPath(Path.Combine(folder, path))
            : Path.IsPathFullyQualified(path) ? path
            : throw item.Error(key, "a config sent from another machine names files as the silos see them: give an absolute path (or a model name)");

    private static T Named<T>(YamlObject item, string key, string what, string name)
        where T : struct, Enum =>
        ConfigNames.TryParse<T>(name, out var value) ? value : throw item.Error(key, new UnknownNameException(what, name, ConfigNames.All<T>()).Message);

    private static void CheckNames(YamlObject root, string key, IReadOnlyList<string> names, Action<string> get)
    {
        if (names.Count == 0)
        {
            throw root.Error(key, "must name at least one");
        }

        for (var i = 0; i < names.Count; i++)
        {
            try
            {
                get(names[i]);
            }
            catch (UnknownNameException ex)
            {
                throw root.ItemError(key, i, ex.Message);
            }
        }
    }

    private static List<T> Unique<T>(YamlObject root, string key, List<T> items, Func<T, string> name)
    {
        var duplicate = items.GroupBy(name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        return duplicate is null ? items : throw root.Error(key, $"the name '{duplicate.Key}' is used twice");
    }
}
