using EvalMesh.Abstractions;
using EvalMesh.Client;
using EvalMesh.Silo.Security;

namespace EvalMesh.Silo.Apis;

/// <summary>
/// Adapters: <c>POST /api/adapters</c> <c>{"model", "name", "path"}</c> registers one, <c>GET /api/adapters</c> lists the
/// registrations, <c>GET /api/adapters/residency</c> shows which silo holds what (loads, hits, evictions, queue), and
/// <c>POST /api/adapters/{model}/{name}/evict</c> unloads one wherever it is idle.
/// </summary>
internal static class AdaptersApi
{
    public sealed record Registration(string? Model, string? Name, string? Path);

    public static IEndpointRouteBuilder MapAdaptersApi(this IEndpointRouteBuilder app)
    {
        var adapters = app.MapGroup("/api/adapters");
        adapters.MapGet("/", async (IEvalMeshClient client, CancellationToken ct) => Results.Json(await client.ListAdaptersAsync(ct), ReportWriter.Json)).RequireScope(ApiScope.Read);
        adapters.MapGet("/residency", async (IEvalMeshClient client, CancellationToken ct) => Results.Json(await client.GetResidencyAsync(ct), ReportWriter.Json)).RequireScope(ApiScope.Read);
        adapters.MapPost("/{model}/{name}/evict", async (string model, string name, IEvalMeshClient client, CancellationToken ct) =>
            Results.Json(new { evictedFrom = await client.EvictAdapterAsync($"{model}:{name}", ct) }, ReportWriter.Json)).RequireScope(ApiScope.Admin);
        adapters.MapPost("/", async (Registration body, IEvalMeshClient client, CancellationToken ct) =>
        {
            if (string.IsNullOrWhiteSpace(body.Model) || string.IsNullOrWhiteSpace(body.Name) || string.IsNullOrWhiteSpace(body.Path))
            {
                return Results.Problem("'model', 'name' and 'path' are required", statusCode: StatusCodes.Status400BadRequest);
            }

            if (body.Name.Contains(':', StringComparison.Ordinal) || body.Name.Contains('|', StringComparison.Ordinal))
            {
                return Results.Problem("'name' must not contain ':' or '|'", statusCode: StatusCodes.Status400BadRequest);
            }

            try
            {
                var registration = await client.RegisterAdapterAsync(body.Model, body.Name, body.Path, ct);
                return Results.Json(registration, ReportWriter.Json, statusCode: StatusCodes.Status201Created);
            }
            catch (AdapterRejectedException ex)
            {
                return Results.Problem(ex.Message, statusCode: StatusCodes.Status400BadRequest, title: "adapter rejected");
            }
        }).RequireScope(ApiScope.Admin);
        return app;
    }
}
