using EvalMesh.Silo.Security;
using Microsoft.Extensions.Options;

namespace EvalMesh.Silo.Apis;

/// <summary>
/// Reads a request's body as text for the REST API. Errors in it name it "request body" (with line and column), never
/// a file on the silo; a body over the limit is a 413 ProblemDetails that names the limit and its setting.
/// </summary>
internal static class RequestBody
{
    /// <summary>What errors call the content a client sent.</summary>
    public const string Name = "request body";

    /// <summary>The body as UTF-8 text, or the 413 to answer when it is larger than the silo accepts.</summary>
    public static async Task<(string? Text, IResult? TooLarge)> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        try
        {
            using var reader = new StreamReader(request.Body);
            return (await reader.ReadToEndAsync(cancellationToken), null);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            var limit = request.HttpContext.RequestServices.GetRequiredService<IOptions<SecurityOptions>>().Value.MaxRequestBodyBytes;
            return (null, Results.Problem(
                $"the {Name} is larger than this silo accepts: at most {limit:N0} bytes (EvalMesh:Security:MaxRequestBodyBytes, environment variable EvalMesh__Security__MaxRequestBodyBytes)",
                statusCode: StatusCodes.Status413PayloadTooLarge,
                title: "request body too large"));
        }
    }
}
