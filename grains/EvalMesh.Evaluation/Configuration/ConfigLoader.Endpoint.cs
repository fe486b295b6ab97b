using System.Globalization;
using EvalMesh.Contracts;

namespace EvalMesh.Evaluation.Configuration;

/// <summary>An endpoint's cluster-wide limits (<c>rate-limit</c>) and price (<c>cost</c>).</summary>
public static partial class ConfigLoader
{
    private static readonly string[] RateLimitKeys = ["requests-per-minute", "tokens-per-minute", "max-concurrency"];

    // rate-limit: { requests-per-minute, tokens-per-minute, max-concurrency }, each at least 1.
    private static RateLimit? ReadRateLimit(YamlObject endpoint, EndpointType type)
    {
        if (endpoint.Mapping("rate-limit") is not { } limits)
        {
            return null;
        }

        if (type != EndpointType.OpenAi)
        {
            throw endpoint.Error("rate-limit", "only an openai endpoint has a cluster-wide rate limit; a llama endpoint is limited by its model hosts' queues");
        }

        limits.AllowOnly(RateLimitKeys);
        var limit = new RateLimit(AtLeastOne(limits, "requests-per-minute"), AtLeastOne(limits, "tokens-per-minute"), AtLeastOne(limits, "max-concurrency"));
        return limit is { RequestsPerMinute: null, TokensPerMinute: null, MaxConcurrency: null }
            ? throw endpoint.Error("rate-limit", $"give at least one of {string.Join(", ", RateLimitKeys)}")
            : limit;
    }

    private static int? AtLeastOne(YamlObject limits, string key) =>
        limits.WholeNumber(key) is not { } value ? null
            : value >= 1 ? value
            : throw limits.Error(key, string.Create(CultureInfo.InvariantCulture, $"must be at least 1, not {value} (leave it out for no limit)"));

    // cost: { input-per-mtok, output-per-mtok }, prices per million tokens, neither negative.
    private static EndpointPrice? ReadCost(YamlObject endpoint, EndpointType type)
    {
        if (endpoint.Mapping("cost") is not { } cost)
        {
            return null;
        }

        if (type == EndpointType.Echo)
        {
            throw endpoint.Error("cost", "an echo endpoint reports no token usage to price");
        }

        cost.AllowOnly("input-per-mtok", "output-per-mtok");
        return new EndpointPrice(Price(cost, "input-per-mtok", "prompt"), Price(cost, "output-per-mtok", "completion"));
    }

    private static double Price(YamlObject cost, string key, string tokens) =>
        cost.Number(key) is not { } value ? throw cost.Error(key, $"the price of a million {tokens} tokens is required (0 if they are free)")
            : value >= 0 && double.IsFinite(value) ? value
            : throw cost.Error(key, string.Create(CultureInfo.InvariantCulture, $"must not be negative, not {value} (the price of a million {tokens} tokens)"));
}
