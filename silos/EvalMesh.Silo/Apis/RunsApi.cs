using System.Text.Json;
using EvalMesh.Abstractions;
using EvalMesh.Client;
using EvalMesh.Evaluation;
using EvalMesh.Evaluation.Configuration;
using EvalMesh.Silo.Security;

namespace EvalMesh.Silo.Apis;

/// <summary>
/// The runs REST API: <c>POST /api/runs</c> (the config as YAML or JSON) answers <c>{"id": ...}</c>;
/// <c>GET /api/runs</c>, <c>GET /api/runs/{id}</c> (state, total, completed, aggregates),
/// <c>GET /api/runs/{id}/report</c>, <c>GET /api/runs/{id}/results</c> (JSON lines, one per cell),
/// <c>GET /api/runs/{id}/compare/{baseline}</c> (<see cref="RunComparison"/>; <c>?alpha=</c>),
/// <c>DELETE /api/runs/{id}</c> (cancel) and <c>POST /api/runs/{id}/resume</c>.
/// </summary>
internal static class RunsApi
{
    public static IEndpointRouteBuilder MapRunsApi(this IEndpointRouteBuilder app)
    {
        var runs = app.MapGroup("/api/runs");
        runs.MapPost("/", StartAsync).RequireScope(ApiScope.Run);
        runs.MapGet("/", async (IEvalMeshClient client, CancellationToken ct) => Results.Json(await client.ListRunsAsync(ct), ReportWriter.Json)).RequireScope(ApiScope.Read);
        runs.MapGet("/{id}", (string id, IEvalMeshClient client, CancellationToken ct) => Found(() => client.GetRunAsync(id, ct))).RequireScope(ApiScope.Read);
        runs.MapGet("/{id}/report", (string id, IEvalMeshClient client, CancellationToken ct) => Found(() => client.GetReportAsync(id, ct))).RequireScope(ApiScope.Read);
        runs.MapGet("/{id}/results", ResultsAsync).RequireScope(ApiScope.Read);
        runs.MapGet("/{id}/compare/{baseline}", CompareAsync).RequireScope(ApiScope.Read);
        runs.MapDelete("/{id}", (string id, IEvalMeshClient client, CancellationToken ct) => Found(() => client.CancelRunAsync(id, ct))).RequireScope(ApiScope.Run);
        runs.MapPost("/{id}/resume", (string id, IEvalMeshClient client, CancellationToken ct) => Found(() => client.ResumeRunAsync(id, ct))).RequireScope(ApiScope.Run);
        return app;
    }

    private static async Task<IResult> StartAsync(HttpRequest request, IEvalMeshClient client, CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(request.Body);
        var body = await reader.ReadToEndAsync(cancellationToken);
        try
        {
            // JSON is YAML too, so one parser serves both content types; relative paths are the silo's.
            var config = ConfigLoader.Parse(body, Path.Combine(Directory.GetCurrentDirectory(), "request-body.yaml"));
            var status = await client.StartRunAsync(config, cancellationToken: cancellationToken);
            return Results.Json(new { id = status.RunId, state = status.State, total = status.Total, completed = status.Completed }, ReportWriter.Json, statusCode: StatusCodes.Status201Created);
        }
        catch (Exception ex) when (ex is EvalMeshInputException or UnknownNameException or RunRejectedException)
        {
            return Results.Problem(ex.Message, statusCode: StatusCodes.Status400BadRequest, title: "invalid run config");
        }
    }

    private static async Task<IResult> CompareAsync(string id, string baseline, double? alpha, IEvalMeshClient client, CancellationToken cancellationToken) =>
        alpha is <= 0 or >= 1
            ? Results.Problem("'alpha' must be between 0 and 1 (exclusive)", statusCode: StatusCodes.Status400BadRequest)
            : await Found(() => RunComparison.CompareAsync(client, baseline, id, alpha ?? 0.05, cancellationToken));

    private static async Task ResultsAsync(string id, HttpContext context, IEvalMeshClient client, CancellationToken cancellationToken)
    {
        try
        {
            await client.GetRunAsync(id, cancellationToken);
        }
        catch (RunNotFoundException ex)
        {
            await Results.Problem(ex.Message, statusCode: StatusCodes.Status404NotFound).ExecuteAsync(context);
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
            return Results.Problem(ex.Message, statusCode: StatusCodes.Status404NotFound, title: "no such run");
        }
        catch (Exception ex) when (AdapterRouter.IsSiloLoss(ex))
        {
            // The run's silo is going away; its grain answers again from a survivor once membership knows.
            return Results.Problem($"the run's silo is unavailable for now, try again shortly: {ex.Message}", statusCode: StatusCodes.Status503ServiceUnavailable, title: "silo unavailable");
        }
    }
}
