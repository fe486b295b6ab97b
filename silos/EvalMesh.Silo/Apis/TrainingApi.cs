using System.Text.Json;
using EvalMesh.Abstractions;
using EvalMesh.Client;
using EvalMesh.Evaluation;
using EvalMesh.Silo.Security;

namespace EvalMesh.Silo.Apis;

/// <summary>
/// Training jobs (<see cref="ITrainingGrain"/>): <c>PUT /api/training/{job}</c> with a <see cref="TrainingRequest"/> as
/// JSON starts one (the <c>admin</c> scope, as registering an adapter needs, since the job registers one) and answers
/// its status; <c>GET /api/training/{job}</c> reads its progress.
/// </summary>
internal static class TrainingApi
{
    public static IEndpointRouteBuilder MapTrainingApi(this IEndpointRouteBuilder app)
    {
        var training = app.MapGroup("/api/training");
        training.MapPut("/{job}", StartAsync).RequireScope(ApiScope.Admin);
        training.MapGet("/{job}", async (string job, IEvalMeshClient client, CancellationToken ct) =>
        {
            try
            {
                return Results.Json(await client.GetTrainingAsync(job, ct), ReportWriter.Json);
            }
            catch (TrainingJobNotFoundException ex)
            {
                return Results.Problem(ex.Message, statusCode: StatusCodes.Status404NotFound, title: "no such training job", extensions: new Dictionary<string, object?> { ["jobId"] = ex.JobId });
            }
        }).RequireScope(ApiScope.Read);
        return app;
    }

    private static async Task<IResult> StartAsync(string job, HttpRequest request, IEvalMeshClient client, CancellationToken cancellationToken)
    {
        var (body, tooLarge) = await RequestBody.ReadAsync(request, cancellationToken);
        if (tooLarge is not null)
        {
            return tooLarge;
        }

        TrainingRequest? training;
        try
        {
            training = JsonSerializer.Deserialize<TrainingRequest>(body!, ReportWriter.Json);
        }
        catch (JsonException ex)
        {
            return Results.Problem($"{RequestBody.Name}: not a training request: {ex.Message}", statusCode: StatusCodes.Status400BadRequest, title: "invalid training request");
        }

        if (training is null || string.IsNullOrWhiteSpace(training.Model) || string.IsNullOrWhiteSpace(training.AdapterName) || string.IsNullOrEmpty(training.TrainingData) || training.Settings is null)
        {
            return Results.Problem($"{RequestBody.Name}: 'model', 'adapterName' and 'trainingData' are required, and 'settings' is an object when given", statusCode: StatusCodes.Status400BadRequest, title: "invalid training request");
        }

        return Results.Json(await client.StartTrainingAsync(job, training, cancellationToken), ReportWriter.Json, statusCode: StatusCodes.Status201Created);
    }
}
