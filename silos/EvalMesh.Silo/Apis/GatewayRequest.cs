using System.Text.Json;
using System.Text.Json.Nodes;
using EvalMesh.Inference.Endpoints;
using Microsoft.Extensions.AI;

namespace EvalMesh.Silo.Apis;

/// <summary>A bad field in a gateway request, named as OpenAI's <c>param</c>.</summary>
internal sealed class GatewayRequestException(string message, string param) : Exception(message)
{
    public string Param { get; } = param;
}

/// <summary>The fields of a chat or text completion request the gateway honours, checked.</summary>
internal sealed record GatewayRequest(string Model, string Prompt, int MaxTokens, float Temperature, int Seed, IReadOnlyList<string>? Stop, bool Stream)
{
    private static readonly JsonDocumentOptions NoDuplicateKeys = new() { AllowDuplicateProperties = false };

    public static GatewayRequest Parse(JsonNode? body, bool chat)
    {
        if (body is not JsonObject lazy)
        {
            throw new GatewayRequestException("the request body must be a JSON object", "body");
        }

        var json = Complete(lazy);
        var model = Text(json, "model") ?? throw new GatewayRequestException("'model' is required", "model");
        var prompt = chat ? Messages(json) : PromptText(json);
        var maxTokens = Integer(json, "max_completion_tokens") ?? Integer(json, "max_tokens") ?? 64;
        if (maxTokens is < 1 or > 8192)
        {
            throw new GatewayRequestException("'max_tokens' must be between 1 and 8192", "max_tokens");
        }

        var temperature = Number(json, "temperature") ?? 0;
        if (temperature is < 0 or > 2)
        {
            throw new GatewayRequestException("'temperature' must be between 0 and 2", "temperature");
        }

        IReadOnlyList<string>? stop = json["stop"] switch
        {
            null => null,
            JsonValue one when one.GetValueKind() == JsonValueKind.String => [one.GetValue<string>()],
            JsonArray many => [.. many.Select(s => s is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : throw new GatewayRequestException("'stop' must be a string or a list of strings", "stop"))],
            _ => throw new GatewayRequestException("'stop' must be a string or a list of strings", "stop"),
        };
        var stream = json["stream"] is JsonValue s && s.GetValueKind() == JsonValueKind.True;
        return new GatewayRequest(model, prompt, maxTokens, (float)temperature, Integer(json, "seed") ?? 0, stop, stream);
    }

    // JsonNode parses lazily: a duplicate key or an unpaired surrogate escape ("\ud800") passes JsonNode.Parse and throws
    // wherever it is first read. Reading the body once more, completely and strictly, makes it a 400 instead of a 500.
    private static JsonObject Complete(JsonObject body)
    {
        try
        {
            return JsonNode.Parse(body.ToJsonString(), documentOptions: NoDuplicateKeys)!.AsObject();
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            throw new GatewayRequestException($"the request body is not valid JSON: {ex.Message}", "body");
        }
    }

    private static string Messages(JsonObject json)
    {
        if (json["messages"] is not JsonArray { Count: > 0 } messages)
        {
            throw new GatewayRequestException("'messages' must be a non-empty list", "messages");
        }

        var turns = new List<ChatMessage>();
        foreach (var message in messages)
        {
            var turn = message as JsonObject ?? throw new GatewayRequestException("each message must be an object", "messages");
            var role = StringOf(turn["role"]) is { } name && !string.IsNullOrWhiteSpace(name) ? name : throw new GatewayRequestException("each message needs a 'role'", "messages");
            turns.Add(new ChatMessage(new ChatRole(role), Content(turn["content"])));
        }

        return ChatPrompt.Render(turns);
    }

    private static string Content(JsonNode? content) => content switch
    {
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        JsonArray parts => string.Concat(parts.Select(Part)),
        _ => throw new GatewayRequestException("each message needs text 'content'", "messages"),
    };

    private static string Part(JsonNode? part) => part is JsonObject text && StringOf(text["type"]) == "text"
        ? text["text"] is null ? string.Empty : StringOf(text["text"]) ?? throw new GatewayRequestException("a text part's 'text' must be a string", "messages")
        : throw new GatewayRequestException("only text content parts are supported", "messages");

    private static string? StringOf(JsonNode? node) => node is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : null;

    private static string PromptText(JsonObject json) => json["prompt"] switch
    {
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        JsonArray and [JsonValue first] when first.GetValueKind() == JsonValueKind.String => first.GetValue<string>(),
        _ => throw new GatewayRequestException("'prompt' must be a string", "prompt"),
    };

    private static string? Text(JsonObject json, string key) => json[key] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        _ => throw new GatewayRequestException($"'{key}' must be a string", key),
    };

    private static int? Integer(JsonObject json, string key) => json[key] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<int>(out var i) => i,
        _ => throw new GatewayRequestException($"'{key}' must be an integer", key),
    };

    private static double? Number(JsonObject json, string key) => json[key] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<double>(out var d) => d,
        _ => throw new GatewayRequestException($"'{key}' must be a number", key),
    };
}
