using System.Text.Json;
using System.Text.Json.Nodes;
using EvalMesh.Abstractions;
using EvalMesh.Inference.Endpoints;
using EvalMesh.Inference.Hosting;
using EvalMesh.Silo.Security;

namespace EvalMesh.Silo.Apis;

/// <summary>
/// The OpenAI-compatible gateway: <c>GET /v1/models</c>, <c>POST /v1/chat/completions</c> and <c>POST /v1/completions</c>,
/// streamed token by token (server-sent events) or not. <c>model</c> is <c>BASE</c> or <c>BASE:ADAPTER</c>; requests go
/// through the same <see cref="IAdapterHostGrain"/> as evaluation traffic, so they land where the adapter is. The
/// response names the serving silo and whether the adapter was already resident (an <c>evalmesh</c> field, in the last
/// chunk of a stream; and headers, when the response is not streamed). A client that disconnects stops the generation.
/// Errors use OpenAI's shape.
/// </summary>
internal static class OpenAiGateway
{
    private static readonly JsonSerializerOptions Wire = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public const string SiloHeader = "x-evalmesh-silo";
    public const string ResidentHeader = "x-evalmesh-adapter-resident";

    public static IEndpointRouteBuilder MapOpenAiGateway(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/models", ModelsAsync).RequireScope(ApiScope.Read);
        app.MapPost("/v1/chat/completions", (HttpContext context, ModelCatalog catalog, IGrainFactory grains, AdapterRouter router) => CompleteAsync(context, catalog, grains, router, chat: true)).RequireScope(ApiScope.Run);
        app.MapPost("/v1/completions", (HttpContext context, ModelCatalog catalog, IGrainFactory grains, AdapterRouter router) => CompleteAsync(context, catalog, grains, router, chat: false)).RequireScope(ApiScope.Run);
        return app;
    }

    private static async Task<IResult> ModelsAsync(ModelCatalog catalog, IGrainFactory grains)
    {
        var registered = await grains.GetGrain<IAdapterRegistryGrain>("all").ListAsync();
        var names = catalog.Names.Concat(registered.Select(r => $"{r.Model}:{r.Name}")).Distinct().Order(StringComparer.Ordinal);
        return Results.Json(new
        {
            @object = "list",
            data = names.Select(n => new { id = n, @object = "model", created = 0, owned_by = "evalmesh" }),
        });
    }

    private static async Task CompleteAsync(HttpContext context, ModelCatalog catalog, IGrainFactory grains, AdapterRouter router, bool chat)
    {
        GatewayRequest request;
        try
        {
            request = GatewayRequest.Parse(await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted), chat);
        }
        catch (JsonException ex)
        {
            await Error(context, 400, $"the request body is not valid JSON: {ex.Message}", "invalid_request_error", null, "invalid_json");
            return;
        }
        catch (GatewayRequestException ex)
        {
            await Error(context, 400, ex.Message, "invalid_request_error", ex.Param, null);
            return;
        }

        if (!await ExistsAsync(request.Model, catalog, grains))
        {
            await Error(context, 404, $"The model '{request.Model}' does not exist.", "invalid_request_error", "model", "model_not_found");
            return;
        }

        var hostKey = AdapterHostKey.FromModelName(request.Model);
        var call = new InferenceCall(request.Prompt, 0, request.MaxTokens, request.Temperature, request.Seed, request.Stop);
        var id = (chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N");
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (!request.Stream)
        {
            InferenceReply reply;
            try
            {
                reply = await router.InferAsync(hostKey, call, context.RequestAborted);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                await InferenceError(context, ex);
                return;
            }

            context.Response.Headers[SiloHeader] = reply.Silo;
            context.Response.Headers[ResidentHeader] = reply.AdapterWasResident ? "true" : "false";
            var choice = chat
                ? new JsonObject { ["index"] = 0, ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = reply.Text }, ["finish_reason"] = reply.FinishReason }
                : new JsonObject { ["index"] = 0, ["text"] = reply.Text, ["finish_reason"] = reply.FinishReason };
            var body = new JsonObject
            {
                ["id"] = id,
                ["object"] = chat ? "chat.completion" : "text_completion",
                ["created"] = created,
                ["model"] = request.Model,
                ["choices"] = new JsonArray(choice),
                ["usage"] = Usage(reply),
                ["evalmesh"] = Routing(reply),
            };
            await Results.Text(body.ToJsonString(Wire), "application/json").ExecuteAsync(context);
            return;
        }

        // The stream's first chunk comes with the first generated text: until then a failure is still a plain HTTP error.
        await using var chunks = router.StreamAsync(hostKey, call, context.RequestAborted).GetAsyncEnumerator(context.RequestAborted);
        try
        {
            await chunks.MoveNextAsync();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await InferenceError(context, ex);
            return;
        }

        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        var objectName = chat ? "chat.completion.chunk" : "text_completion";
        JsonObject Chunk(JsonObject choice) => new() { ["id"] = id, ["object"] = objectName, ["created"] = created, ["model"] = request.Model, ["choices"] = new JsonArray(choice) };
        JsonObject Choice(string? text, string? finishReason) => chat
            ? new JsonObject { ["index"] = 0, ["delta"] = text is null ? new JsonObject() : new JsonObject { ["content"] = text }, ["finish_reason"] = finishReason }
            : new JsonObject { ["index"] = 0, ["text"] = text ?? string.Empty, ["finish_reason"] = finishReason };
        if (chat)
        {
            await Event(context, Chunk(new JsonObject { ["index"] = 0, ["delta"] = new JsonObject { ["role"] = "assistant" }, ["finish_reason"] = null }));
        }

        try
        {
            do
            {
                if (chunks.Current.Reply is { } reply)
                {
                    var last = Chunk(Choice(null, reply.FinishReason));
                    last["usage"] = Usage(reply);
                    last["evalmesh"] = Routing(reply);
                    await Event(context, last);
                }
                else if (chunks.Current.Text.Length > 0)
                {
                    await Event(context, Chunk(Choice(chunks.Current.Text, null)));
                }
            }
            while (await chunks.MoveNextAsync());
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Part of the answer is out: the failure can only be told in the stream, the way OpenAI does.
            await Event(context, new JsonObject { ["error"] = new JsonObject { ["message"] = $"inference failed: {ex.Message}", ["type"] = "server_error", ["param"] = null, ["code"] = null } });
        }

        await context.Response.WriteAsync("data: [DONE]\n\n", context.RequestAborted);
    }

    private static JsonObject Usage(InferenceReply reply) =>
        new() { ["prompt_tokens"] = reply.PromptTokens, ["completion_tokens"] = reply.CompletionTokens, ["total_tokens"] = reply.PromptTokens + reply.CompletionTokens };

    private static JsonObject Routing(InferenceReply reply) =>
        new() { ["silo"] = reply.Silo, ["adapter_resident"] = reply.AdapterWasResident, ["prefix_reused"] = reply.PrefixReused };

    private static Task InferenceError(HttpContext context, Exception exception) => exception is InferenceException { Problem: InferenceProblem.ContextOverflow }
        ? Error(context, 400, exception.Message, "invalid_request_error", "messages", "context_length_exceeded")
        : Error(context, 500, $"inference failed: {exception.Message}", "server_error", null, null);

    private static async Task<bool> ExistsAsync(string model, ModelCatalog catalog, IGrainFactory grains)
    {
        var colon = model.IndexOf(':', StringComparison.Ordinal);
        var (name, adapter) = colon < 0 ? (model, null) : (model[..colon], model[(colon + 1)..]);
        if (!catalog.IsModelName(name))
        {
            return false;
        }

        return adapter is null
            || ModelCatalog.IsBuiltInAdapter(name, adapter)
            || await grains.GetGrain<ILoraAdapterGrain>(model).GetAsync() is not null;
    }

    private static async Task Event(HttpContext context, JsonObject data)
    {
        await context.Response.WriteAsync($"data: {data.ToJsonString(Wire)}\n\n", context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
    }

    /// <summary>Writes an error in OpenAI's shape.</summary>
    public static Task Error(HttpContext context, int status, string message, string type, string? param, string? code)
    {
        var error = new JsonObject { ["error"] = new JsonObject { ["message"] = message, ["type"] = type, ["param"] = param, ["code"] = code } };
        return Results.Text(error.ToJsonString(Wire), "application/json", statusCode: status).ExecuteAsync(context);
    }
}
