using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace EvalMesh.Silo.Security;

/// <summary>
/// Authenticates callers by API key (<c>Authorization: Bearer KEY</c>, as OpenAI clients send it, or <c>x-api-key</c>;
/// a browser that signed in on the run pages sends it as a cookie, honoured for reading only: GET and HEAD).
/// Keys are compared as SHA-256 digests in constant time, against every configured key, so neither timing nor length
/// tells anything. With no keys configured every caller is admitted with every scope (loopback only, see
/// <see cref="SecuritySetup"/>). Refusals are 401 (no or wrong key) and 403 (a key without the scope).
/// </summary>
internal sealed class ApiKeyAuthentication(
    IOptionsMonitor<AuthenticationSchemeOptions> schemes,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IOptions<SecurityOptions> security)
    : AuthenticationHandler<AuthenticationSchemeOptions>(schemes, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string ScopeClaim = "evalmesh:scope";
    private const string PageCookie = "evalmesh-api-key";

    private readonly (string Name, ApiScope Scope, byte[] Digest)[] _keys =
        [.. security.Value.ApiKeys.Select(k => (k.Name, k.Scope, SHA256.HashData(Encoding.UTF8.GetBytes(k.Key))))];

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (_keys.Length == 0)
        {
            return Task.FromResult(Success("anonymous", ApiScope.Admin));
        }

        if (PresentedKey() is not { } presented)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        (string Name, ApiScope Scope)? match = null;
        foreach (var key in _keys)
        {
            if (CryptographicOperations.FixedTimeEquals(digest, key.Digest))
            {
                match = (key.Name, key.Scope);
            }
        }

        return Task.FromResult(match is { } found ? Success(found.Name, found.Scope) : AuthenticateResult.Fail("invalid API key"));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var message = PresentedKey() is null
            ? "an API key is required: send 'Authorization: Bearer KEY' or 'x-api-key: KEY'"
            : "the API key is not valid";
        Response.Headers.WWWAuthenticate = "Bearer";
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        return IsPage(Request)
            ? Apis.RunPages.WriteSignInAsync(Context, PresentedKey() is null ? "Sign in with an API key to see the runs." : "That API key is not valid.")
            : ApiErrors.WriteAsync(Context, StatusCodes.Status401Unauthorized, message, "invalid_api_key");
    }

    /// <summary>Remembers a key a browser signed in with, for the run pages (HTTP only, same site only).</summary>
    public static void SetPageCookie(HttpContext context, string key) =>
        context.Response.Cookies.Append(PageCookie, key, new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Strict, Secure = context.Request.IsHttps, Path = "/" });

    // A page is a browser's GET of /runs…; its data and the list's /api/runs fetches ride on the same cookie.
    private static bool IsPage(HttpRequest request) =>
        HttpMethods.IsGet(request.Method) && request.Path.StartsWithSegments("/runs", StringComparison.Ordinal) && !request.Path.Value!.EndsWith("/data", StringComparison.Ordinal);

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        ApiErrors.WriteAsync(Context, StatusCodes.Status403Forbidden, $"the API key '{Context.User.Identity?.Name}' may not do this: it needs the '{RequiredScope(Context)}' scope", "insufficient_scope");

    /// <summary>The scope an endpoint requires, from its authorization policy's name.</summary>
    private static string RequiredScope(HttpContext context) =>
        context.GetEndpoint()?.Metadata.GetMetadata<Microsoft.AspNetCore.Authorization.IAuthorizeData>()?.Policy ?? "admin";

    private string? PresentedKey()
    {
        var authorization = Request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return authorization["Bearer ".Length..].Trim();
        }

        return Request.Headers["x-api-key"].FirstOrDefault()
            ?? (HttpMethods.IsGet(Request.Method) || HttpMethods.IsHead(Request.Method) ? Request.Cookies[PageCookie] : null);
    }

    private static AuthenticateResult Success(string name, ApiScope scope)
    {
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, name), new Claim(ScopeClaim, scope.ToString())], SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }
}
