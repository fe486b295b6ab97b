using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using EvalMesh.Abstractions;
using EvalMesh.Client;
using EvalMesh.Inference.Endpoints;
using EvalMesh.Inference.Gguf;
using EvalMesh.Inference.Llama;
using EvalMesh.Silo.Security;

namespace EvalMesh.Silo.Apis;

/// <summary>
/// The OpenAI-compatible gateway: <c>GET /v1/models</c>, <c>POST /v1/chat/completions</c> and <c>POST /v1/completions</c>,
/// streamed token by token (server-sent events) or not. <c>model</c> is <c>BASE</c> or <c>BASE:ADAPTER</c>; requests go
/// through the same <see cref="IAdapterHostGrain"/> as evaluation traffic, so they land where the adapter is. The
/// response names the serving silo and whether the adapter was already resident (an <c>evalmesh</c> field, in each
/// choice's last chunk of a stream; and headers, of the first choice to answer). <c>n</c> choices are generated
/// side by side (choice i samples with seed + i). A client that disconnects stops the generation. Errors use OpenAI's
/// shape.
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
        var registered = await grains.GetAdapterRegistry().ListAsync();
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

        var hostKey = AdapterKey.FromModelName(request.Model);
        var calls = Enumerable.Range(0, request.Choices)
            .Select(i => request.Request with { Options = request.Request.Options with { Seed = request.Request.Options.Seed + i } })
            .ToList();
        var response = new Response((chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N"), DateTimeOffset.UtcNow.ToUnixTimeSeconds(), request.Model, chat);
        if (request.Stream)
        {
            await StreamAsync(context, router, hostKey, calls, response, request.IncludeUsage);
            return;
        }

        InferenceReply[] replies;
        try
        {
            replies = await Task.WhenAll(calls.Select(call => router.InferAsync(hostKey, call, context.RequestAborted)));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await InferenceError(context, ex);
            return;
        }

        SetRouteHeaders(context, replies[0].Route);
        var body = response.Body(chat ? "chat.completion" : "text_completion", replies.Select((reply, index) =>
        {
            var offset = 0;
            return chat
                ? new JsonObject { ["index"] = index, ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = reply.Text }, ["logprobs"] = ChatLogprobs(reply.Logprobs), ["finish_reason"] = reply.FinishReason }
                : new JsonObject { ["index"] = index, ["text"] = reply.Text, ["logprobs"] = CompletionLogprobs(reply.Logprobs, ref offset), ["finish_reason"] = reply.FinishReason };
        }));
        body["usage"] = Usage(replies);
        body["evalmesh"] = Routing(replies[0]);
        await Results.Text(body.ToJsonString(Wire), "application/json").ExecuteAsync(context);
    }

    // Streams every choice's text as it is generated, as server-sent events: each chunk names its choice's index, each
    // choice ends with its finish reason and where it ran, and, when asked, a last chunk without choices has the usage.
    // Until the first text arrives a failure is still a plain HTTP error; after it, an error event ends the stream.
    private static async Task StreamAsync(HttpContext context, AdapterRouter router, string hostKey, IReadOnlyList<InferenceRequest> calls, Response response, bool includeUsage)
    {
        using var generation = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        var merged = Channel.CreateUnbounded<(int Index, InferenceChunk Chunk)>(new UnboundedChannelOptions { SingleReader = true });
        async Task PumpAsync(int index)
        {
            try
            {
                await foreach (var chunk in router.StreamAsync(hostKey, calls[index], generation.Token))
                {
                    await merged.Writer.WriteAsync((index, chunk), generation.Token);
                }
            }
            catch (Exception ex)
            {
                merged.Writer.TryComplete(ex);
            }
        }

        var pumps = Task.WhenAll(calls.Select((_, index) => PumpAsync(index)));
        _ = pumps.ContinueWith(_ => merged.Writer.TryComplete(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        try
        {
            await using var chunks = merged.Reader.ReadAllAsync(generation.Token).GetAsyncEnumerator(generation.Token);
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
            var first = chunks.Current.Chunk;
            if ((first.Route ?? first.Reply?.Route) is { } route)
            {
                SetRouteHeaders(context, route);
            }

            var objectName = response.Chat ? "chat.completion.chunk" : "text_completion";
            // Where each choice's next token starts in its text, for text completions' text_offset.
            var offsets = new int[calls.Count];
            JsonObject Choice(int index, string? text, IReadOnlyList<TokenLogprob>? logprobs, string? finishReason) => response.Chat
                ? new JsonObject { ["index"] = index, ["delta"] = text is null ? new JsonObject() : new JsonObject { ["content"] = text }, ["logprobs"] = ChatLogprobs(logprobs), ["finish_reason"] = finishReason }
                : new JsonObject { ["index"] = index, ["text"] = text ?? string.Empty, ["logprobs"] = CompletionLogprobs(logprobs, ref offsets[index]), ["finish_reason"] = finishReason };

            if (response.Chat)
            {
                await Event(context, response.Body(objectName, calls.Select((_, index) => new JsonObject { ["index"] = index, ["delta"] = new JsonObject { ["role"] = "assistant" }, ["finish_reason"] = null })));
            }

            var replies = new List<InferenceReply>();
            try
            {
                do
                {
                    var (index, chunk) = chunks.Current;
                    if (chunk.Reply is { } reply)
                    {
                        replies.Add(reply);
                        var last = Choice(index, null, null, reply.FinishReason);
                        last["evalmesh"] = Routing(reply);
                        await Event(context, response.Body(objectName, [last]));
                    }
                    else if (chunk.Text.Length > 0)
                    {
                        await Event(context, response.Body(objectName, [Choice(index, chunk.Text, chunk.Logprobs, null)]));
                    }
                }
                while (await chunks.MoveNextAsync());

                if (includeUsage)
                {
                    var usage = response.Body(objectName, []);
                    usage["usage"] = Usage(replies);
                    await Event(context, usage);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Part of the answer is out: the failure can only be told in the stream, the way OpenAI does.
                await Event(context, new JsonObject { ["error"] = new JsonObject { ["message"] = $"inference failed: {ex.Message}", ["type"] = "server_error", ["param"] = null, ["code"] = null } });
            }

            await context.Response.WriteAsync("data: [DONE]\n\n", context.RequestAborted);
        }
        finally
        {
            await generation.CancelAsync();
            await pumps;
        }
    }

    /// <summary>What every response and chunk of one request shares.</summary>
    private sealed record Response(string Id, long Created, string Model, bool Chat)
    {
        public JsonObject Body(string objectName, IEnumerable<JsonObject> choices) =>
            new() { ["id"] = Id, ["object"] = objectName, ["created"] = Created, ["model"] = Model, ["choices"] = new JsonArray([.. choices]) };
    }

    // Chat's log probabilities: each token with its bytes and the likeliest alternatives.
    private static JsonObject? ChatLogprobs(IReadOnlyList<TokenLogprob>? logprobs)
    {
        static JsonObject Entry(TokenLogprob token) =>
            new() { ["token"] = token.Token, ["logprob"] = token.Logprob, ["bytes"] = new JsonArray([.. token.Bytes.Select(b => (JsonNode)(int)b)]) };
        return logprobs is null ? null : new JsonObject
        {
            ["content"] = new JsonArray([.. logprobs.Select(token =>
            {
                var entry = Entry(token);
                entry["top_logprobs"] = new JsonArray([.. token.Top.Select(Entry)]);
                return (JsonNode)entry;
            })]),
            ["refusal"] = null,
        };
    }

    // Text completions' log probabilities, in the older shape: parallel lists, alternatives as text → log probability
    // (the first of two alternatives with the same text), and each token's offset in the completion's text, from
    // offset on (which is moved past these tokens).
    private static JsonObject? CompletionLogprobs(IReadOnlyList<TokenLogprob>? logprobs, ref int offset)
    {
        if (logprobs is null)
        {
            return null;
        }

        var offsets = new JsonArray();
        foreach (var token in logprobs)
        {
            offsets.Add(offset);
            offset += token.Token.Length;
        }

        return new JsonObject
        {
            ["tokens"] = new JsonArray([.. logprobs.Select(t => (JsonNode)t.Token)]),
            ["token_logprobs"] = new JsonArray([.. logprobs.Select(t => (JsonNode)t.Logprob)]),
            ["top_logprobs"] = new JsonArray([.. logprobs.Select(t =>
            {
                var top = new JsonObject();
                foreach (var alternative in t.Top)
                {
                    top.TryAdd(alternative.Token, alternative.Logprob);
                }

                return (JsonNode)top;
            })]),
            ["text_offset"] = offsets,
        };
    }

    // The prompt is counted once, as OpenAI does for n choices; the completions of every choice add up.
    private static JsonObject Usage(IReadOnlyList<InferenceReply> replies)
    {
        var (prompt, cached, completion) = replies.Count == 0 ? (0, 0, 0) : (replies[0].PromptTokens, replies[0].CachedTokens, replies.Sum(r => r.CompletionTokens));
        return new JsonObject
        {
            ["prompt_tokens"] = prompt,
            ["completion_tokens"] = completion,
            ["total_tokens"] = prompt + completion,
            ["prompt_tokens_details"] = new JsonObject { ["cached_tokens"] = cached },
        };
    }

    // Where the answer (of the first choice to answer) runs, as headers.
    private static void SetRouteHeaders(HttpContext context, InferenceRoute route)
    {
        context.Response.Headers[SiloHeader] = route.Host;
        context.Response.Headers[ResidentHeader] = route.AdapterWasResident ? "true" : "false";
    }

    private static JsonObject Routing(InferenceReply reply) =>
        new() { ["silo"] = reply.Route.Host, ["adapter_resident"] = reply.Route.AdapterWasResident, ["prefix_reused"] = reply.CachedTokens > 0 };

    // A request the model host cannot take yet is a 429 with Retry-After, which OpenAI's clients wait out and retry; one
    // that can never fit is a 400; a model host that is stopping or a silo that is gone is a 503; anything else is a 500
    // that names its kind.
    private static Task InferenceError(HttpContext context, Exception exception)
    {
        switch (exception)
        {
            case InferenceException { Problem: InferenceProblem.ContextOverflow }:
                return Error(context, 400, exception.Message, "invalid_request_error", "messages", "context_length_exceeded");
            case InferenceException { Problem: InferenceProblem.Overloaded } overloaded:
                context.Response.Headers.RetryAfter = ((int)Math.Ceiling((overloaded.RetryAfter ?? TimeSpan.FromSeconds(1)).TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                return Error(context, 429, exception.Message, "rate_limit_error", null, "model_overloaded");
            case InferenceException { Problem: InferenceProblem.Stopped }:
                return Error(context, 503, exception.Message, "server_error", null, "model_host_stopping");
            case InferenceException failed:
                return Error(context, 500, $"inference failed: {failed.Message}", "server_error", null, failed.Code);
            case GgufException invalid:
                return Error(context, 500, $"the model or adapter file is invalid: {invalid.Message}", "server_error", null, "invalid_model_file");
            case Exception when AdapterRouter.IsSiloLoss(exception):
                return Error(context, 503, $"the silo serving this model is unavailable: {exception.Message.Split('\n')[0].Trim()}", "server_error", null, "silo_unavailable");
            default:
                return Error(context, 500, $"inference failed: {exception.GetType().Name}: {exception.Message.Split('\n')[0].Trim()}", "server_error", null, "internal_error");
        }
    }

    private static async Task<bool> ExistsAsync(string model, ModelCatalog catalog, IGrainFactory grains)
    {
        var (name, adapter) = AdapterKey.Parse(AdapterKey.FromModelName(model));
        if (!catalog.IsModelName(name))
        {
            return false;
        }

        return adapter is null
            || ModelCatalog.IsBuiltInAdapter(name, adapter)
            || await grains.GetLoraAdapter(name, adapter).GetAsync() is not null;
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
