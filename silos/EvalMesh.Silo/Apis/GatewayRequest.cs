using System.Text.Json;
using System.Text.Json.Nodes;
using EvalMesh.Abstractions;
using EvalMesh.Contracts;

namespace EvalMesh.Silo.Apis;

/// <summary>A bad field in a gateway request, named as OpenAI's <c>param</c>.</summary>
internal sealed class GatewayRequestException(string message, string param) : Exception(message)
{
    public string Param { get; } = param;
}

/// <summary>
/// The fields of a chat or text completion request the gateway honours, checked. Fields it does not honour are refused
/// when they would change the answer (tools, a response format, penalties, echo), rather than ignored; fields that
/// change nothing (user, metadata, their default values) pass.
/// </summary>
/// <param name="Request">
/// The messages (a text completion's prompt as one user message, sent without a chat template) and how to generate;
/// <see cref="GenerationOptions.TopLogprobs"/> come from chat's <c>logprobs: true</c> and <c>top_logprobs</c>, or a
/// text completion's <c>logprobs: N</c>.
/// </param>
/// <param name="Choices">How many completions to generate (OpenAI's <c>n</c>); choice i samples with seed + i.</param>
/// <param name="IncludeUsage">Whether a stream ends with a chunk of usage (<c>stream_options.include_usage</c>).</param>
internal sealed record GatewayRequest(string Model, InferenceRequest Request, int Choices, bool Stream, bool IncludeUsage)
{
    /// <summary>The most alternatives a text completion's <c>logprobs</c> may ask for, as OpenAI allows.</summary>
    public const int MaxCompletionLogprobs = 5;

    /// <summary>The most choices one request may ask for, as OpenAI allows.</summary>
    public const int MaxChoices = 128;

    private static readonly JsonDocumentOptions NoDuplicateKeys = new() { AllowDuplicateProperties = false };

    public static GatewayRequest Parse(JsonNode? body, bool chat)
    {
        if (body is not JsonObject lazy)
        {
            throw new GatewayRequestException("the request body must be a JSON object", "body");
        }

        var json = Complete(lazy);
        var model = Text(json, "model") ?? throw new GatewayRequestException("'model' is required", "model");
        IReadOnlyList<ChatTurn> messages = chat ? Messages(json) : [new ChatTurn("user", PromptText(json))];
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
        var topP = Number(json, "top_p") ?? 1;
        if (topP is <= 0 or > 1)
        {
            throw new GatewayRequestException("'top_p' must be above 0 and at most 1", "top_p");
        }

        var choices = Integer(json, "n") ?? 1;
        if (choices is < 1 or > MaxChoices)
        {
            throw new GatewayRequestException($"'n' must be between 1 and {MaxChoices}", "n");
        }

        var topLogprobs = chat ? ChatLogprobs(json) : Integer(json, "logprobs");
        if (topLogprobs is < 0 || topLogprobs > (chat ? GenerationOptions.MaxTopLogprobs : MaxCompletionLogprobs))
        {
            var (key, most) = chat ? ("top_logprobs", GenerationOptions.MaxTopLogprobs) : ("logprobs", MaxCompletionLogprobs);
            throw new GatewayRequestException($"'{key}' must be between 0 and {most}", key);
        }

        Refuse(json);
        var stream = Boolean(json, "stream") ?? false;
        var includeUsage = json["stream_options"] switch
        {
            null => false,
            JsonObject options when stream => Boolean(options, "include_usage") ?? false,
            JsonObject => throw new GatewayRequestException("'stream_options' is only allowed when 'stream' is true", "stream_options"),
            _ => throw new GatewayRequestException("'stream_options' must be an object", "stream_options"),
        };
        var generation = new GenerationOptions(maxTokens, (float)temperature, Integer(json, "seed") ?? 0, stop, (float)topP, topLogprobs);

        // A chat is rendered with the model's own template; a text completion's prompt is the model's prompt as it is.
        return new GatewayRequest(model, new InferenceRequest(messages, generation, ChatTemplate: chat ? ChatTemplates.Auto : ChatTemplates.None), choices, stream, includeUsage);
    }

    // Chat asks with "logprobs": true, and for alternatives with "top_logprobs", which needs it.
    private static int? ChatLogprobs(JsonObject json)
    {
        var top = Integer(json, "top_logprobs");
        return Boolean(json, "logprobs") == true
            ? top ?? 0
            : top is null ? null : throw new GatewayRequestException("'top_logprobs' needs 'logprobs': true", "top_logprobs");
    }

    // Fields that would change the answer in ways the gateway does not implement: a clear 400 instead of an answer
    // that silently ignores them. (A field set to null is absent.)
    private static void Refuse(JsonObject json)
    {
        void Unless(string key, bool honoured, string what)
        {
            if (json[key] is not null && !honoured)
            {
                throw new GatewayRequestException($"'{key}' is not supported: {what}", key);
            }
        }

        Unless("tools", json["tools"] is JsonArray { Count: 0 }, "this gateway does not call tools");
        Unless("functions", json["functions"] is JsonArray { Count: 0 }, "this gateway does not call functions");
        Unless("response_format", json["response_format"] is JsonObject format && StringOf(format["type"]) == "text", "only the 'text' response format is supported");
        Unless("presence_penalty", Number(json, "presence_penalty") == 0, "penalties are not supported");
        Unless("frequency_penalty", Number(json, "frequency_penalty") == 0, "penalties are not supported");
        Unless("logit_bias", json["logit_bias"] is JsonObject { Count: 0 }, "logit biases are not supported");
        Unless("echo", Boolean(json, "echo") != true, "the prompt is not echoed");
        Unless("best_of", Integer(json, "best_of") == 1, "choose among choices with 'n'");
        Unless("suffix", StringOf(json["suffix"]) == string.Empty, "insertion is not supported");
    }

    private static bool? Boolean(JsonObject json, string key) => json[key] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>(),
        _ => throw new GatewayRequestException($"'{key}' must be true or false", key),
    };

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

    private static List<ChatTurn> Messages(JsonObject json)
    {
        if (json["messages"] is not JsonArray { Count: > 0 } messages)
        {
            throw new GatewayRequestException("'messages' must be a non-empty list", "messages");
        }

        var turns = new List<ChatTurn>();
        foreach (var message in messages)
        {
            var turn = message as JsonObject ?? throw new GatewayRequestException("each message must be an object", "messages");
            var role = StringOf(turn["role"]) is { } name && !string.IsNullOrWhiteSpace(name) ? name : throw new GatewayRequestException("each message needs a 'role'", "messages");
            turns.Add(new ChatTurn(role, Content(turn["content"])));
        }

        return turns;
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
