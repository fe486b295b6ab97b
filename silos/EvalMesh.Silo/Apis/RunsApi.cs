using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using EvalMesh.Abstractions;
using EvalMesh.Client;
using EvalMesh.Evaluation;
using EvalMesh.Evaluation.Configuration;
using EvalMesh.Silo.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace EvalMesh.Silo.Apis;

/// <summary>
/// The runs REST API: <c>POST /api/runs[?runId=]</c> (the config as YAML or JSON; its datasets and suites uploaded,
/// generated or inline, see <see cref="UploadsApi"/>) answers <c>{"id": ...}</c>;
/// <c>PUT /api/runs/{id}</c> (a run spec as JSON, whose datasets and suites the cluster holds, such as another run's
/// from <c>GET /api/runs/{id}/spec</c> with an endpoint added) answers the run's status;
/// <c>GET /api/runs</c>, <c>GET /api/runs/{id}</c> (state, total, completed, aggregates),
/// <c>GET /api/runs/{id}/events[?intervalMs=]</c> (the status as server-sent events until the run ends),
/// <c>GET /api/runs/{id}/report</c>, <c>GET /api/runs/{id}/results</c> (JSON lines, one per cell),
/// <c>GET /api/runs/{id}/prompts</c> (the prompts' shared heads),
/// <c>GET /api/runs/{id}/compare/{baseline}</c> (<see cref="RunComparison"/>; <c>?alpha=</c>),
/// <c>DELETE /api/runs/{id}</c> (cancel) and <c>POST /api/runs/{id}/resume</c>.
/// </summary>
internal static class RunsApi
{
    /// <summary>The event type of each status sent by <c>/api/runs/{id}/events</c>.</summary>
    public const string StatusEvent = "status";

    // A status is sent when it changes, and at least this often while nothing does, so that idle connections stay open.
    private static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(15);

    public static IEndpointRouteBuilder MapRunsApi(this IEndpointRouteBuilder app)
    {
        var runs = app.MapGroup("/api/runs");
        runs.MapPost("/", StartAsync).RequireScope(ApiScope.Run);
        runs.MapGet("/", async (IEvalMeshClient client, CancellationToken ct) => Results.Json(await client.ListRunsAsync(ct), ReportWriter.Json)).RequireScope(ApiScope.Read);
        runs.MapGet("/{id}", (string id, IEvalMeshClient client, CancellationToken ct) => Found(() => client.GetRunAsync(id, ct))).RequireScope(ApiScope.Read);
        runs.MapPut("/{id}", StartSpecAsync).RequireScope(ApiScope.Run);
        runs.MapGet("/{id}/spec", (string id, IEvalMeshClient client, CancellationToken ct) => Found(() => client.GetRunSpecAsync(id, ct))).RequireScope(ApiScope.Read);
        runs.MapGet("/{id}/events", EventsAsync).RequireScope(ApiScope.Read);
        runs.MapGet("/{id}/report", (string id, IEvalMeshClient client, CancellationToken ct) => Found(() => client.GetReportAsync(id, ct))).RequireScope(ApiScope.Read);
        runs.MapGet("/{id}/results", ResultsAsync).RequireScope(ApiScope.Read);
        runs.MapGet("/{id}/prompts", (string id, IEvalMeshClient client, CancellationToken ct) => Found(() => client.GetPromptHeadsAsync(id, ct))).RequireScope(ApiScope.Read);
        runs.MapGet("/{id}/compare/{baseline}", CompareAsync).RequireScope(ApiScope.Read);
        runs.MapDelete("/{id}", (string id, IEvalMeshClient client, CancellationToken ct) => Found(() => client.CancelRunAsync(id, ct))).RequireScope(ApiScope.Run);
        runs.MapPost("/{id}/resume", (string id, IEvalMeshClient client, CancellationToken ct) => Found(() => client.ResumeRunAsync(id, ct))).RequireScope(ApiScope.Run);
        return app;
    }

    private static async Task<IResult> StartAsync(HttpRequest request, string? runId, IEvalMeshClient client, CancellationToken cancellationToken)
    {
        if (runId is not null && !IsRunId(runId))
        {
            return Results.Problem("'runId' must be 1 to 100 letters, digits, '.', '_' or '-'", statusCode: StatusCodes.Status400BadRequest, title: "invalid run id");
        }

        var (body, tooLarge) = await RequestBody.ReadAsync(request, cancellationToken);
        if (tooLarge is not null)
        {
            return tooLarge;
        }

        try
        {
            // JSON is YAML too, so one parser serves both content types. Nothing in a sent config is read from the
            // silo's files: its datasets and suites are uploads, generated or inline.
            var config = ConfigLoader.ParseSent(body!, RequestBody.Name);
            var status = await client.StartRunAsync(config, runId, cancellationToken);
            return Results.Json(new { id = status.RunId, state = status.State, total = status.Total, completed = status.Completed }, ReportWriter.Json, statusCode: StatusCodes.Status201Created);
        }
        catch (Exception ex) when (ex is EvalMeshInputException or UnknownNameException or RunRejectedException)
        {
            return Results.Problem(ex.Message, statusCode: StatusCodes.Status400BadRequest, title: "invalid run config");
        }
    }

    private static async Task<IResult> StartSpecAsync(string id, HttpRequest request, IEvalMeshClient client, CancellationToken cancellationToken)
    {
        if (!IsRunId(id))
        {
            return Results.Problem("the run id must be 1 to 100 letters, digits, '.', '_' or '-'", statusCode: StatusCodes.Status400BadRequest, title: "invalid run id");
        }

        var (body, tooLarge) = await RequestBody.ReadAsync(request, cancellationToken);
        if (tooLarge is not null)
        {
            return tooLarge;
        }

        try
        {
            var spec = JsonSerializer.Deserialize<RunSpec>(body!, ReportWriter.Json) ?? throw new EvalMeshInputException($"{RequestBody.Name}: expected a run spec, got null");
            return Results.Json(await client.StartRunAsync(spec, id, cancellationToken), ReportWriter.Json, statusCode: StatusCodes.Status201Created);
        }
        catch (JsonException ex)
        {
            return Results.Problem($"{RequestBody.Name}: not a run spec: {ex.Message}", statusCode: StatusCodes.Status400BadRequest, title: "invalid run spec");
        }
        catch (Exception ex) when (ex is EvalMeshInputException or RunRejectedException)
        {
            return Results.Problem(ex.Message, statusCode: StatusCodes.Status400BadRequest, title: "invalid run spec");
        }
    }

    private static bool IsRunId(string id) =>
        id.Length is > 0 and <= 100 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    private static async Task<IResult> EventsAsync(string id, int? intervalMs, IEvalMeshClient client, TimeProvider time, CancellationToken cancellationToken)
    {
        if (intervalMs is < 50 or > 60_000)
        {
            return Results.Problem("'intervalMs' must be between 50 and 60000", statusCode: StatusCodes.Status400BadRequest);
        }

        var found = await Found(() => client.GetRunAsync(id, cancellationToken));
        return found is ProblemHttpResult
            ? found
            : TypedResults.ServerSentEvents(StatusEventsAsync(client, time, id, TimeSpan.FromMilliseconds(intervalMs ?? 250), cancellationToken));
    }

    // The run's status, read every interval (it rides out the loss of the run's silo), sent when it changes or at the
    // heartbeat; the last event is the final status, and then the stream ends.
    private static async IAsyncEnumerable<SseItem<string>> StatusEventsAsync(IEvalMeshClient client, TimeProvider time, string id, TimeSpan interval, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        RunStatus? sent = null;
        var sentAt = 0L;
        await foreach (var status in client.WatchRunAsync(id, interval, cancellationToken))
        {
            if (sent is null || status.IsFinished || Changed(sent, status) || time.GetElapsedTime(sentAt) >= Heartbeat)
            {
                sent = status;
                sentAt = time.GetTimestamp();
                yield return new SseItem<string>(JsonSerializer.Serialize(status, ReportWriter.JsonLine), StatusEvent);
            }
        }
    }

    private static bool Changed(RunStatus before, RunStatus after) =>
        (before.State, before.Completed, before.Passed, before.Failed, before.Errors, before.Message) != (after.State, after.Completed, after.Passed, after.Failed, after.Errors, after.Message);

    private static async Task<IResult> CompareAsync(string id, string baseline, double? alpha, IEvalMeshClient client, CancellationToken cancellationToken) =>
        alpha is <= 0 or >= 1
            ? Results.Problem("'alpha' must be between 0 and 1 (exclusive)", statusCode: StatusCodes.Status400BadRequest)
            : await Found(() => client.CompareRunsAsync(baseline, id, alpha ?? 0.05, cancellationToken));

    private static async Task ResultsAsync(string id, HttpContext context, IEvalMeshClient client, CancellationToken cancellationToken)
    {
        try
        {
            await client.GetRunAsync(id, cancellationToken);
        }
        catch (RunNotFoundException ex)
        {
            await NotFound(ex).ExecuteAsync(context);
            return;
        }

        context.Response.ContentType = "application/x-ndjson";
        var lines = 0;
        await foreach (var result in client.GetResultsAsync(id, cancellationToken))
        {
            await context.Response.WriteAsync(JsonSerializer.Serialize(result, ReportWriter.JsonLine), cancellationToken);
            await context.Response.WriteAsync("\n", cancellationToken);
            if (++lines % 256 == 0)
            {
                await context.Response.Body.FlushAsync(cancellationToken);
            }
        }
    }

    private static async Task<IResult> Found<T>(Func<Task<T>> call)
    {
        try
        {
            return Results.Json(await call(), ReportWriter.Json);
        }
        catch (RunNotFoundException ex)
        {
            return NotFound(ex);
        }
        catch (Exception ex) when (AdapterRouter.IsSiloLoss(ex))
        {
            // The run's silo is going away; its grain answers again from a survivor once membership knows.
            return Results.Problem($"the run's silo is unavailable for now, try again shortly: {ex.Message}", statusCode: StatusCodes.Status503ServiceUnavailable, title: "silo unavailable");
        }
    }

    // The run's id travels with the 404, so that a client knows which of two runs (compare) is missing.
    private static IResult NotFound(RunNotFoundException ex) =>
        Results.Problem(ex.Message, statusCode: StatusCodes.Status404NotFound, title: "no such run", extensions: new Dictionary<string, object?> { ["runId"] = ex.RunId });
}
