using Microsoft.Extensions.Options;

namespace EvalMesh.Silo.Security;

/// <summary>What an API key may do; each scope includes the ones before it.</summary>
public enum ApiScope
{
    /// <summary>Read runs, reports, results, adapters and models.</summary>
    Read,

    /// <summary>Also start, cancel and resume runs, and call the gateway.</summary>
    Run,

    /// <summary>Also register and evict adapters.</summary>
    Admin,
}

/// <summary>One API key.</summary>
public sealed class ApiKeyOptions
{
    /// <summary>Who holds it, for logs and rate limits (never the key itself).</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>The secret the caller sends as <c>Authorization: Bearer KEY</c> or <c>x-api-key: KEY</c>.</summary>
    public string Key { get; set; } = string.Empty;

    /// <summary>What it may do.</summary>
    public ApiScope Scope { get; set; } = ApiScope.Read;
}

/// <summary>
/// Who may call the REST API and the gateway, and how much (configuration section <c>EvalMesh:Security</c>; keys
/// usually come from the environment, such as <c>EvalMesh__Security__ApiKeys__0__Key</c>).
/// </summary>
public sealed class SecurityOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "EvalMesh:Security";

    /// <summary>The accepted keys. With none, the silo serves anyone, and only on loopback addresses.</summary>
    public List<ApiKeyOptions> ApiKeys { get; set; } = [];

    /// <summary>Serve callers without keys on non-loopback addresses too (a network that is trusted as a whole).</summary>
    public bool AllowAnonymous { get; set; }

    /// <summary>Requests per minute per key (per client address without keys); <c>/healthz</c> and <c>/metrics</c> are not limited.</summary>
    public int RequestsPerMinute { get; set; } = 600;

    /// <summary>The largest request body accepted, in bytes.</summary>
    public long MaxRequestBodyBytes { get; set; } = 16 << 20;
}

/// <summary>Checks <see cref="SecurityOptions"/>, naming the setting and the environment variable that sets it.</summary>
public sealed class SecurityOptionsValidator : IValidateOptions<SecurityOptions>
{
    /// <summary>The shortest key accepted.</summary>
    public const int MinimumKeyLength = 16;

    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, SecurityOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        for (var i = 0; i < options.ApiKeys.Count; i++)
        {
            var key = options.ApiKeys[i];
            Check(key.Key.Length >= MinimumKeyLength, $"ApiKeys:{i}:Key", $"must be at least {MinimumKeyLength} characters");
            Check(key.Name.Length > 0, $"ApiKeys:{i}:Name", "must be set");
            Check(Enum.IsDefined(key.Scope), $"ApiKeys:{i}:Scope", "must be Read, Run or Admin");
            Check(options.ApiKeys.FindIndex(k => k.Name == key.Name) == i, $"ApiKeys:{i}:Name", $"'{key.Name}' is used by another key");
        }

        Check(options.RequestsPerMinute > 0, nameof(options.RequestsPerMinute), "must be positive");
        Check(options.MaxRequestBodyBytes > 0, nameof(options.MaxRequestBodyBytes), "must be positive");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);

        void Check(bool ok, string setting, string problem)
        {
            if (!ok)
            {
                failures.Add($"{SecurityOptions.Section}:{setting} {problem} (environment variable EvalMesh__Security__{setting.Replace(":", "__", StringComparison.Ordinal)})");
            }
        }
    }
}
