using EvalMesh.Abstractions;
using EvalMesh.Client;
using EvalMesh.Silo.Security;

namespace EvalMesh.Silo.Apis;

/// <summary>
/// The run pages for people: <c>GET /runs</c> lists runs with live progress, <c>GET /runs/{id}</c> is the run's HTML
/// report, its progress refreshed every second while the run goes (its data from <c>GET /runs/{id}/data</c>). Where API keys are
/// on, a browser signs in once with a key (<c>POST /runs/sign-in</c>), which it then sends as a cookie.
/// </summary>
internal static class RunPages
{
    public const string SignInPath = "/runs/sign-in";

    public static IEndpointRouteBuilder MapRunPages(this IEndpointRouteBuilder app)
    {
        var pages = app.MapGroup("/runs");
        pages.MapGet("/", () => Results.Content(HtmlPages.RunList("/api/runs"), "text/html; charset=utf-8")).RequireScope(ApiScope.Read);
        pages.MapGet("/{id}", (string id, IEvalMeshClient client, CancellationToken ct) => Found(id, async () =>
        {
            await client.GetRunAsync(id, ct);
            var escaped = Uri.EscapeDataString(id);
            return Results.Content(HtmlPages.LiveReport(id, $"/runs/{escaped}/data", $"/api/runs/{escaped}"), "text/html; charset=utf-8");
        })).RequireScope(ApiScope.Read);
        pages.MapGet("/{id}/data", (string id, IEvalMeshClient client, CancellationToken ct) => Found(id, async () =>
            Results.Json(await ReportDocument.LoadAsync(client, id, HtmlPages.MaxCells, ct), ReportWriter.JsonLine))).RequireScope(ApiScope.Read);
        pages.MapPost("/sign-in", SignInAsync).AllowAnonymous();
        return app;
    }

    /// <summary>The sign-in form, for a page request that brought no valid key.</summary>
    public static Task WriteSignInAsync(HttpContext context, string message)
    {
        context.Response.ContentType = "text/html; charset=utf-8";
        return context.Response.WriteAsync(HtmlPages.SignIn(message, SignInPath, context.Request.Path + context.Request.QueryString));
    }

    private static async Task<IResult> Found(string id, Func<Task<IResult>> page)
    {
        try
        {
            return await page();
        }
        catch (RunNotFoundException)
        {
            return Results.Text($"There is no run '{id}'.", statusCode: StatusCodes.Status404NotFound);
        }
    }

    private static async Task<IResult> SignInAsync(HttpRequest request)
    {
        var form = await request.ReadFormAsync();
        var back = form["return"].ToString();
        ApiKeyAuthentication.SetPageCookie(request.HttpContext, form["key"].ToString());

        // Only back to a run page of this silo: never an open redirect.
        return Results.Redirect(back.StartsWith("/runs", StringComparison.Ordinal) && !back.StartsWith("/runs/sign-in", StringComparison.Ordinal) ? back : "/runs");
    }
}
