using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EvalMesh.Testing;

/// <summary>
/// A real HTTP server on a loopback port that speaks the OpenAI chat-completions wire format and answers each request
/// with the next scripted behaviour: a completion, an error status, a hang, a malformed body or a dropped connection.
/// </summary>
public sealed class ScriptedOpenAiServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private const string BodyKey = "evalmesh.request-body";
    private readonly ConcurrentQueue<Func<HttpContext, Task>> _script = new();

    private ScriptedOpenAiServer(WebApplication app) => _app = app;

    public ConcurrentQueue<(DateTimeOffset At, JsonObject Body, string? Authorization)> Requests { get; } = new();

    public Uri BaseUrl { get; private set; } = null!;

    /// <summary>What requests get once the script is used up (by default an immediate completion).</summary>
    public Func<HttpContext, Task> Default { get; set; } = Completion("default answer");

    /// <summary>Starts the server; <paramref name="clock"/> (the system's by default) stamps each request's arrival.</summary>
    public static async Task<ScriptedOpenAiServer> StartAsync(TimeProvider? clock = null)
    {
        clock ??= TimeProvider.System;
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new ScriptedOpenAiServer(app);
        app.MapPost("/v1/chat/completions", async context =>
        {
            var body = (JsonObject)(await JsonNode.ParseAsync(context.Request.Body))!;
            server.Requests.Enqueue((clock.GetUtcNow(), body, context.Request.Headers.Authorization.FirstOrDefault()));
            context.Items[BodyKey] = body;
            var behaviour = server._script.TryDequeue(out var next) ? next : server.Default;
            await behaviour(context);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseUrl = new Uri(address + "/v1");
        return server;
    }

    /// <summary>The body of the request a behaviour is answering.</summary>
    public static JsonObject RequestBody(HttpContext context) => (JsonObject)context.Items[BodyKey]!;

    public ScriptedOpenAiServer Then(Func<HttpContext, Task> behaviour)
    {
        _script.Enqueue(behaviour);
        return this;
    }

    public static Func<HttpContext, Task> Completion(string content) => context =>
        context.Response.WriteAsJsonAsync(new
        {
            id = "chatcmpl-1",
            @object = "chat.completion",
            model = "scripted",
            choices = new[] { new { index = 0, message = new { role = "assistant", content }, finish_reason = "stop" } },
            usage = new { prompt_tokens = 11, completion_tokens = 3, total_tokens = 14 },
        });

    /// <summary>A completion after a delay, like a real model's latency.</summary>
    public static Func<HttpContext, Task> SlowCompletion(string content, TimeSpan delay) => async context =>
    {
        await Task.Delay(delay, context.RequestAborted);
        await Completion(content)(context);
    };

    public static Func<HttpContext, Task> Status(int status, string? retryAfter = null) => async context =>
    {
        context.Response.StatusCode = status;
        if (retryAfter is not null)
        {
            context.Response.Headers.RetryAfter = retryAfter;
        }

        await context.Response.WriteAsync("""{"error":{"message":"scripted failure"}}""");
    };

    public static Func<HttpContext, Task> Hang(TimeSpan duration) => async context =>
    {
        try
        {
            await Task.Delay(duration, context.RequestAborted);
        }
        catch (OperationCanceledException)
        {
        }
    };

    public static Func<HttpContext, Task> Body(string body) => context =>
    {
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(body);
    };

    public static Func<HttpContext, Task> DropMidBody() => async context =>
    {
        context.Response.ContentLength = 1000;
        await context.Response.WriteAsync("""{"choices":[{"mess""");
        await context.Response.Body.FlushAsync();
        context.Abort();
    };

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
