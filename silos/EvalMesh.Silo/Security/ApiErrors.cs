using EvalMesh.Silo.Apis;

namespace EvalMesh.Silo.Security;

/// <summary>Writes an error the way the caller's API speaks: OpenAI's shape under <c>/v1</c>, ProblemDetails elsewhere.</summary>
internal static class ApiErrors
{
    public static Task WriteAsync(HttpContext context, int status, string message, string code) =>
        context.Request.Path.StartsWithSegments("/v1", StringComparison.Ordinal)
            ? OpenAiGateway.Error(context, status, message, status == StatusCodes.Status429TooManyRequests ? "rate_limit_error" : "invalid_request_error", null, code)
            : Results.Problem(message, statusCode: status, title: code.Replace('_', ' ')).ExecuteAsync(context);
}
