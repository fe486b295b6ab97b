using System.Globalization;
using System.Text.Json.Nodes;
using EvalMesh.Contracts;
using EvalMesh.Evaluation.Configuration;
using EvalMesh.Evaluation.Formats;
using EvalMesh.Evaluation.Suites;

namespace EvalMesh.Client;

/// <summary>
/// What the process that prepares a run knows of its llama endpoints' models: a silo (and the CLI's embedded silo)
/// knows its model host's context window and can count a prompt in a model's own vocabulary; an Orleans client
/// outside the cluster knows neither.
/// </summary>
public interface IModelContexts
{
    /// <summary>The model of a llama endpoint as the model host would be asked it, or null when this process cannot tell.</summary>
    IModelContext? Open(EndpointConfig endpoint);
}

/// <summary>A model's context window and its own token count of a prompt.</summary>
public interface IModelContext : IDisposable
{
    /// <summary>The model's name, as messages show it.</summary>
    string Name { get; }

    /// <summary>The tokens a sequence may hold: its prompt and what it generates.</summary>
    int ContextTokens { get; }

    /// <summary>
    /// The tokens <paramref name="prompt"/> (after <paramref name="system"/>, if any) costs as the model host counts it:
    /// its chat template, BOS, and its first <paramref name="sharedPrefix"/> characters (a context shared with other
    /// prompts) tokenized apart.
    /// </summary>
    int CountPrompt(string? system, string prompt, string chatTemplate, int sharedPrefix = 0);
}

/// <summary>
/// Checks, before a run starts, that the longest prompt of every suite and format, with the endpoint's
/// <c>max-tokens</c>, fits each llama endpoint's context window, so that a run that cannot fit is a config error
/// naming the endpoint's model, not a run of errored cells.
/// </summary>
internal static class PromptFit
{
    /// <summary>A suite's cases as the run will ask them, and its dataset's records.</summary>
    public sealed record SuitePrompts(string Name, IReadOnlyList<TestCase> Cases, IReadOnlyList<JsonObject> Records);

    /// <exception cref="Evaluation.EvalMeshInputException">A prompt does not fit (at the endpoint's <c>model</c> in the config).</exception>
    public static void Check(EvalConfig config, IReadOnlyList<SuitePrompts> suites, IModelContexts contexts)
    {
        // Endpoints of one model and template share the measure (the tiny model and its adapters, say).
        var measured = new Dictionary<(string Model, string Template), Measure?>();
        foreach (var (index, endpoint) in config.Endpoints.Index().Where(e => e.Item.Type == EndpointType.Llama))
        {
            var key = (endpoint.Model!, endpoint.ChatTemplate);
            if (!measured.TryGetValue(key, out var measure))
            {
                using var model = contexts.Open(endpoint);
                measured[key] = measure = model is null ? null : Longest(config, suites, model, endpoint.ChatTemplate);
            }

            if (measure is { } m && m.Tokens + endpoint.MaxTokens > m.ContextTokens)
            {
                throw config.Error($"endpoints[{index}].model", string.Create(CultureInfo.InvariantCulture,
                    $"endpoint '{endpoint.Name}': the longest prompt (suite '{m.Suite}', format '{m.Format}') is {m.Tokens:N0} tokens as model {m.Model} counts it, and with max-tokens {endpoint.MaxTokens} it does not fit its context window of {m.ContextTokens:N0} tokens; give each question fewer records (context: {{ retrieve: bm25, k: N }}), or use a model host with a larger context (EvalMesh:ModelHost:ContextSize)"));
            }
        }
    }

    private sealed record Measure(string Model, int ContextTokens, int Tokens, string Suite, string Format);

    // The longest prompt of each suite and format (by characters, then counted in the model's tokens), the longest of all.
    private static Measure Longest(EvalConfig config, IReadOnlyList<SuitePrompts> suites, IModelContext model, string chatTemplate)
    {
        var longest = new Measure(model.Name, model.ContextTokens, 0, string.Empty, string.Empty);
        foreach (var suite in suites)
        {
            foreach (var format in config.Formats)
            {
                var renderer = RecordFormats.Get(format);
                var perQuestion = suite.Cases.Any(c => c.Records is not null);
                var template = PromptTemplate.Compile(config.Prompt, format, perQuestion ? null : renderer.Render(suite.Records));
                var prompt = suite.Cases
                    .Select(c => template.For(c.Question, c.Records is { } records ? renderer.Render([.. records.Select(n => suite.Records[n - 1])]) : null).Text)
                    .MaxBy(p => p.Length)!;
                var tokens = model.CountPrompt(config.System, prompt, chatTemplate);
                if (tokens > longest.Tokens)
                {
                    longest = longest with { Tokens = tokens, Suite = suite.Name, Format = format };
                }
            }
        }

        return longest;
    }
}
