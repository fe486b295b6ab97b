using System.Text.Json.Serialization;

namespace EvalMesh.Contracts;

/// <summary>What kind of model endpoint answers prompts.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<EndpointType>))]
public enum EndpointType
{
    /// <summary>A local GGUF model (optionally with a LoRA adapter) served by the cluster's model hosts.</summary>
    [JsonStringEnumMemberName("llama")]
    Llama,

    /// <summary>Any OpenAI-compatible HTTP API (OpenAI, vLLM, Ollama, llama.cpp server, EvalMesh's gateway).</summary>
    [JsonStringEnumMemberName("openai")]
    OpenAi,

    /// <summary>Returns the prompt: for pipeline tests and overhead benchmarks.</summary>
    [JsonStringEnumMemberName("echo")]
    Echo,
}

/// <summary>A model endpoint.</summary>
/// <param name="Name">Unique name, shown in reports.</param>
/// <param name="Type">What kind of endpoint it is.</param>
/// <param name="Model">llama: a GGUF path or the built-in <c>tiny</c>; openai: the model name.</param>
/// <param name="Adapter">llama: an adapter name from <c>adapters</c>, or a GGUF path.</param>
/// <param name="BaseUrl">openai: the API's base URL.</param>
/// <param name="ApiKeyEnv">openai: the environment variable that holds the API key.</param>
/// <param name="MaxTokens">The most tokens to generate.</param>
/// <param name="Temperature">Sampling temperature; 0 is greedy (the seed of a sampled cell is its repeat).</param>
/// <param name="TimeoutSeconds">Per-request timeout.</param>
/// <param name="MaxConcurrency">The most requests in flight at once to this endpoint.</param>
/// <param name="Cache">
/// openai: answers are kept for two weeks and a request asked again (same URL, model, prompt and settings) is answered
/// from the cache; errors are not kept. Local and echo endpoints cost nothing to ask again and are never cached.
/// </param>
/// <param name="TopP">Nucleus sampling: below 1, only the likeliest tokens whose probabilities add up to it.</param>
/// <param name="ChatTemplate">llama: how the messages become the model's prompt (one of <see cref="ChatTemplates.Names"/>).</param>
/// <param name="RateLimit">openai: the limits the whole cluster keeps to together (the endpoint's grain leases them to silos); null for none.</param>
/// <param name="Cost">The endpoint's price per million tokens, by which reports put a cost beside tokens; null when unknown.</param>
public sealed record EndpointConfig(
    string Name,
    EndpointType Type,
    string? Model,
    string? Adapter,
    string? BaseUrl,
    string? ApiKeyEnv,
    int MaxTokens,
    double Temperature,
    int TimeoutSeconds,
    int MaxConcurrency,
    bool Cache = true,
    double TopP = 1,
    string ChatTemplate = ChatTemplates.Auto,
    RateLimit? RateLimit = null,
    EndpointPrice? Cost = null);

/// <summary>
/// An endpoint's limits, for the cluster as a whole (config <c>rate-limit</c>): each is at least 1, or null for no limit.
/// </summary>
/// <param name="RequestsPerMinute">The most requests sent in any minute (retries count).</param>
/// <param name="TokensPerMinute">The most tokens (prompt and completion) in any minute, as the endpoint counts them.</param>
/// <param name="MaxConcurrency">The most requests in flight at once, across every silo.</param>
public sealed record RateLimit(int? RequestsPerMinute, int? TokensPerMinute, int? MaxConcurrency);

/// <summary>An endpoint's price (config <c>cost</c>), in whatever currency it is given in, per million tokens.</summary>
/// <param name="InputPerMTok">The price of a million prompt tokens.</param>
/// <param name="OutputPerMTok">The price of a million completion tokens.</param>
public sealed record EndpointPrice(
    [property: JsonPropertyName("input-per-mtok")] double InputPerMTok,
    [property: JsonPropertyName("output-per-mtok")] double OutputPerMTok)
{
    /// <summary>What <paramref name="inputTokens"/> prompt and <paramref name="outputTokens"/> completion tokens cost.</summary>
    public double Of(long inputTokens, long outputTokens) => ((inputTokens * InputPerMTok) + (outputTokens * OutputPerMTok)) / 1_000_000;
}

/// <summary>A LoRA adapter file for a base model.</summary>
/// <param name="Name">The name endpoints refer to.</param>
/// <param name="Base">The base model it was trained for (a GGUF path or <c>tiny</c>).</param>
/// <param name="Path">The adapter GGUF file.</param>
public sealed record AdapterConfig(string Name, string Base, string Path);
