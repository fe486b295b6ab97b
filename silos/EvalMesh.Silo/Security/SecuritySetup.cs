using System.Net;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace EvalMesh.Silo.Security;

/// <summary>
/// API keys with scopes, a per-key rate limit and a request body limit for the REST API and the gateway. Without keys
/// the silo serves anyone, and says so at start-up; it refuses to start that way on a non-loopback address unless
/// <see cref="SecurityOptions.AllowAnonymous"/> says the network is trusted.
/// </summary>
internal static partial class SecuritySetup
{
    /// <summary>Adds authentication, the scope policies, the rate limiter and the body limit.</summary>
    public static void AddEvalMeshSecurity(this WebApplicationBuilder builder, SecurityOptions security)
    {
        builder.Services.AddSingleton(Options.Create(security));
        builder.Services.AddAuthentication(ApiKeyAuthentication.SchemeName).AddScheme<AuthenticationSchemeOptions, ApiKeyAuthentication>(ApiKeyAuthentication.SchemeName, null);
        builder.Services.AddAuthorization(authorization =>
        {
            foreach (var scope in Enum.GetValues<ApiScope>())
            {
                authorization.AddPolicy(PolicyName(scope), policy => policy
                    .RequireAuthenticatedUser()
                    .RequireAssertion(context => Enum.TryParse<ApiScope>(context.User.FindFirst(ApiKeyAuthentication.ScopeClaim)?.Value, out var granted) && granted >= scope));
            }
        });
        builder.Services.AddRateLimiter(limiter =>
        {
            limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
                IsApi(context.Request.Path)
                    ? RateLimitPartition.GetFixedWindowLimiter(
                        context.User.Identity?.Name is { } name ? $"key:{name}" : $"address:{context.Connection.RemoteIpAddress}",
                        _ => new FixedWindowRateLimiterOptions { PermitLimit = security.RequestsPerMinute, Window = TimeSpan.FromMinutes(1) })
                    : RateLimitPartition.GetNoLimiter(string.Empty));
            limiter.OnRejected = (rejected, _) =>
            {
                if (rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter))
                {
                    rejected.HttpContext.Response.Headers.RetryAfter = ((int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                }

                return new ValueTask(ApiErrors.WriteAsync(rejected.HttpContext, StatusCodes.Status429TooManyRequests, $"more than {security.RequestsPerMinute} requests a minute (EvalMesh:Security:RequestsPerMinute)", "rate_limit_exceeded"));
            };
        });
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = security.MaxRequestBodyBytes);
    }

    /// <summary>Authenticates, authorizes and rate-limits requests; checks, once listening, that keys are not missing where they must not be.</summary>
    public static void UseEvalMeshSecurity(this WebApplication app)
    {
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter();
        var security = app.Services.GetRequiredService<IOptions<SecurityOptions>>().Value;
        if (security.ApiKeys.Count > 0)
        {
            return;
        }

        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
            var exposed = addresses.Where(a => !IsLoopback(a)).ToList();
            if (exposed.Count > 0 && !security.AllowAnonymous)
            {
                Console.Error.WriteLine($"evalmesh-silo: error: no API keys (EvalMesh:Security:ApiKeys, environment variable EvalMesh__Security__ApiKeys__0__Key) while listening on {string.Join(", ", exposed)}; configure keys, listen on loopback only, or set EvalMesh:Security:AllowAnonymous=true for a trusted network");
                Environment.ExitCode = 2;
                app.Lifetime.StopApplication();
                return;
            }

            LogAnonymous(app.Logger, string.Join(", ", addresses));
        });
    }

    /// <summary>Requires an API key with at least <paramref name="scope"/> for these endpoints.</summary>
    public static TBuilder RequireScope<TBuilder>(this TBuilder endpoints, ApiScope scope)
        where TBuilder : IEndpointConventionBuilder =>
        endpoints.RequireAuthorization(PolicyName(scope));

    private static string PolicyName(ApiScope scope) => scope.ToString().ToLowerInvariant();

    private static bool IsApi(PathString path) => path.StartsWithSegments("/api", StringComparison.Ordinal) || path.StartsWithSegments("/v1", StringComparison.Ordinal);

    private static bool IsLoopback(string address)
    {
        var host = new Uri(address.Replace("://*", "://any", StringComparison.Ordinal).Replace("://+", "://any", StringComparison.Ordinal)).Host.Trim('[', ']');
        return host == "localhost" || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "No API keys are configured (EvalMesh:Security:ApiKeys): the REST API and the gateway serve any caller that reaches {Addresses}")]
    private static partial void LogAnonymous(ILogger logger, string addresses);
}
