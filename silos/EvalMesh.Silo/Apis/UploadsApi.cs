using EvalMesh.Client;
using EvalMesh.Evaluation;
using EvalMesh.Evaluation.Configuration;
using EvalMesh.Evaluation.Datasets;
using EvalMesh.Silo.Security;

namespace EvalMesh.Silo.Apis;

/// <summary>
/// Content-addressed uploads of what runs read, so that a client sends its own files and nothing twice:
/// <c>PUT /api/datasets/{id}</c> (the records as JSON Lines) and <c>PUT /api/suites/{id}</c> (the cases as JSON, as
/// <see cref="UploadContent"/> writes them) store one (201; 200 when it was there already), after checking the
/// content and that its content id is <c>{id}</c>; <c>HEAD</c> of the same path says whether it is stored (200 or
/// 404), and <c>GET</c> answers it as it was uploaded. A run config names them with <c>upload: ID</c>.
/// Uploading takes the run scope, asking the read scope; a bad upload stores nothing.
/// </summary>
internal static class UploadsApi
{
    public static IEndpointRouteBuilder MapUploadsApi(this IEndpointRouteBuilder app)
    {
        var datasets = app.MapGroup("/api/datasets");
        datasets.MapMethods("/{id}", [HttpMethods.Head], (string id, IRunInputStore store, CancellationToken ct) =>
            StoredAsync(id, "dataset", () => store.HasDatasetAsync(id, ct))).RequireScope(ApiScope.Read);
        datasets.MapGet("/{id}", async (string id, IRunInputStore store, CancellationToken ct) =>
            !ConfigLoader.IsContentId(id) ? NotAnId(id)
                : await store.GetDatasetAsync(id, ct) is { } records ? Results.Text(UploadContent.Dataset(Dataset.Create(id, records)).Content, "application/x-ndjson")
                : NotStored("dataset", id)).RequireScope(ApiScope.Read);
        datasets.MapPut("/{id}", (string id, string? name, HttpRequest request, IRunInputStore store, CancellationToken ct) =>
            PutAsync(id, "dataset", request, body => UploadContent.ReadDataset(id, name ?? id, body, RequestBody.Name), store.HasDatasetAsync, store.PutDatasetAsync, ct)).RequireScope(ApiScope.Run);

        var suites = app.MapGroup("/api/suites");
        suites.MapMethods("/{id}", [HttpMethods.Head], (string id, IRunInputStore store, CancellationToken ct) =>
            StoredAsync(id, "suite", () => store.HasSuiteAsync(id, ct))).RequireScope(ApiScope.Read);
        suites.MapGet("/{id}", async (string id, IRunInputStore store, CancellationToken ct) =>
            !ConfigLoader.IsContentId(id) ? NotAnId(id)
                : await store.GetSuiteAsync(id, ct) is { } json ? Results.Text(json, "application/json")
                : NotStored("suite", id)).RequireScope(ApiScope.Read);
        suites.MapPut("/{id}", (string id, string? name, HttpRequest request, IRunInputStore store, CancellationToken ct) =>
            PutAsync(id, "suite", request, body => UploadContent.ReadSuite(id, name ?? id, body, RequestBody.Name), store.HasSuiteAsync, store.PutSuiteAsync, ct)).RequireScope(ApiScope.Run);
        return app;
    }

    private static async Task<IResult> StoredAsync(string id, string what, Func<Task<bool>> stored) =>
        !ConfigLoader.IsContentId(id) ? NotAnId(id)
            : await stored() ? Results.Json(new { id }, ReportWriter.Json)
            : NotStored(what, id);

    // Checks everything before storing anything: a grain stores an upload whole, in one write, or not at all.
    private static async Task<IResult> PutAsync(
        string id,
        string what,
        HttpRequest request,
        Func<string, Upload> read,
        Func<string, CancellationToken, Task<bool>> stored,
        Func<Upload, CancellationToken, Task> store,
        CancellationToken cancellationToken)
    {
        if (!ConfigLoader.IsContentId(id))
        {
            return NotAnId(id);
        }

        var (body, tooLarge) = await RequestBody.ReadAsync(request, cancellationToken);
        if (tooLarge is not null)
        {
            return tooLarge;
        }

        Upload upload;
        try
        {
            upload = read(body!);
        }
        catch (EvalMeshInputException ex)
        {
            return Results.Problem(ex.Message, statusCode: StatusCodes.Status400BadRequest, title: $"invalid {what}");
        }

        var existed = await stored(id, cancellationToken);
        if (!existed)
        {
            await store(upload, cancellationToken);
        }

        return Results.Json(new { id, name = upload.Name }, ReportWriter.Json, statusCode: existed ? StatusCodes.Status200OK : StatusCodes.Status201Created);
    }

    private static IResult NotAnId(string id) =>
        Results.Problem($"'{id}' is not a content id: 16 hexadecimal digits (0-9, a-f)", statusCode: StatusCodes.Status400BadRequest, title: "not a content id");

    private static IResult NotStored(string what, string id) =>
        Results.Problem($"no {what} has been uploaded as {id}", statusCode: StatusCodes.Status404NotFound, title: $"no such {what}");
}
