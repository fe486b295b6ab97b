using System.Diagnostics;
using System.Text.Json;
using EvalMesh.Contracts;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Caching.Distributed;

namespace EvalMesh.Grains.Endpoints;

/// <summary>
/// An endpoint's answers, cached (see <see cref="Evaluation.Configuration.EndpointConfig.Cache"/>). Each answer keeps
/// how long the endpoint took to give it, so that a run answered from the cache reports the endpoint's latency, not
/// the cache's.
/// </summary>
internal sealed class CachedEndpointClient(IChatClient endpoint, IDistributedCache cache) : DistributedCachingChatClient(new Timed(endpoint), cache)
{
    /// <summary>ChatResponse.AdditionalProperties key: milliseconds the endpoint took to answer.</summary>
    public const string LatencyKey = "evalmesh.endpoint_latency_ms";

    /// <summary>How long the endpoint took to give this answer, when it was measured (also for an answer from the cache).</summary>
    public static double? LatencyOf(ChatResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return response.AdditionalProperties?.TryGetValue(LatencyKey, out var value) == true
            ? value switch
            {
                double milliseconds => milliseconds,
                JsonElement { ValueKind: JsonValueKind.Number } element => element.GetDouble(),
                _ => null,
            }
            : null;
    }

    private sealed class Timed(IChatClient inner) : DelegatingChatClient(inner)
    {
        public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            var started = Stopwatch.GetTimestamp();
            var response = await base.GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
            (response.AdditionalProperties ??= [])[LatencyKey] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            return response;
        }
    }
}
