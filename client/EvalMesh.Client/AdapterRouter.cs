using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using EvalMesh.Abstractions;

namespace EvalMesh.Client;

/// <summary>
/// Calls adapter hosts the way every caller must (shards, the gateway, the SDK): it asks the residency directory for
/// the host's home once, passes that home to the placement director in the request context, and when a silo is going
/// away it forgets the home and retries until the host has been placed again on a survivor.
/// </summary>
public sealed class AdapterRouter(IGrainFactory grains, TimeProvider? time = null)
{
    /// <summary>The request-context key that carries an adapter host's home to the placement director.</summary>
    public const string HomeHint = "evalmesh.home";

    /// <summary>How long a call rides out a silo's loss: membership declares a killed silo dead in ~15-30 s, with room to spare.</summary>
    public static readonly TimeSpan SiloLossWindow = TimeSpan.FromSeconds(90);

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ConcurrentDictionary<string, Lazy<Task<PlacementDecision>>> _homes = new(StringComparer.Ordinal);

    /// <summary>Runs a completion on the adapter host <paramref name="hostKey"/> (<c>model|adapter</c>) and returns its reply.</summary>
    public Task<InferenceReply> InferAsync(string hostKey, InferenceRequest request, CancellationToken cancellationToken = default) =>
        InferAsync(hostKey, request, stream: false, cancellationToken).ReplyAsync();

    /// <summary>Streams a completion from the adapter host <paramref name="hostKey"/>: its text as it is generated, then the reply.</summary>
    public IAsyncEnumerable<InferenceChunk> StreamAsync(string hostKey, InferenceRequest request, CancellationToken cancellationToken = default) =>
        InferAsync(hostKey, request, stream: true, cancellationToken);

    /// <summary>
    /// Runs a completion on the adapter host <paramref name="hostKey"/> as <see cref="IAdapterHostGrain.InferAsync"/>
    /// does. A silo's loss is ridden out until the first chunk arrives; after that the caller has part of the answer,
    /// and the loss ends the enumeration with its exception.
    /// </summary>
    public async IAsyncEnumerable<InferenceChunk> InferAsync(string hostKey, InferenceRequest request, bool stream, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var (chunks, any) = await CallAsync(hostKey, async grain =>
        {
            var enumerator = grain.InferAsync(request, stream, cancellationToken).GetAsyncEnumerator(cancellationToken);
            try
            {
                return (enumerator, await enumerator.MoveNextAsync().ConfigureAwait(false));
            }
            catch
            {
                await enumerator.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }, cancellationToken).ConfigureAwait(false);
        await using (chunks.ConfigureAwait(false))
        {
            for (var more = any; more; more = await chunks.MoveNextAsync().ConfigureAwait(false))
            {
                yield return chunks.Current;
            }
        }
    }

    /// <summary>Has the adapter host load its adapter now (for upcoming work); returns whether it was already resident.</summary>
    public Task<bool> PrefetchAsync(string hostKey, CancellationToken cancellationToken = default) =>
        CallAsync(hostKey, grain => grain.PrefetchAsync(), cancellationToken);

    /// <summary>The home the directory chose for a host key.</summary>
    public Task<PlacementDecision> HomeAsync(string hostKey) =>
        _homes.GetOrAdd(hostKey, key => new Lazy<Task<PlacementDecision>>(() => grains.GetAdapterDirectory().AssignAsync(key))).Value;

    /// <summary>Whether an exception means a silo is leaving or gone, so that the call should be retried elsewhere.</summary>
    public static bool IsSiloLoss(Exception exception) =>
        exception is SiloUnavailableException or OrleansMessageRejectionException or TimeoutException or ClientNotAvailableException
        || (exception is OrleansException && exception.Message.Contains("unavailable", StringComparison.OrdinalIgnoreCase));

    private async Task<T> CallAsync<T>(string hostKey, Func<IAdapterHostGrain, Task<T>> call, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        var delay = TimeSpan.FromMilliseconds(250);
        while (true)
        {
            try
            {
                var home = await HomeAsync(hostKey).ConfigureAwait(false);
                RequestContext.Set(HomeHint, home.Silo);
                try
                {
                    return await call(grains.GetAdapterHost(hostKey)).ConfigureAwait(false);
                }
                finally
                {
                    RequestContext.Remove(HomeHint);
                }
            }
            catch (Exception ex) when (IsSiloLoss(ex) && _time.GetElapsedTime(started) < SiloLossWindow && !cancellationToken.IsCancellationRequested)
            {
                _homes.TryRemove(hostKey, out _);
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
    }
}
