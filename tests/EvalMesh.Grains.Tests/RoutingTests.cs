using EvalMesh.Abstractions;
using EvalMesh.Client;
using EvalMesh.Grains.Routing;
using EvalMesh.Inference.Llama;
using EvalMesh.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace EvalMesh.Grains.Tests;

/// <summary>Adapter-affinity routing on a four-silo in-process cluster, two adapter slots per silo, real tiny adapters.</summary>
public sealed class RoutingTests : IAsyncLifetime
{
    private readonly EvalMeshTestCluster _cluster = new(4, 6, services =>
    {
        services.Configure<ModelHostOptions>(o =>
        {
            o.MaxAdapters = 2;
            o.ContextSize = 2048;
        });
        services.Configure<AdapterAffinityPlacementOptions>(o =>
        {
            o.ReportInterval = TimeSpan.FromMilliseconds(50);
            o.HotQueueDepth = 3;
            o.HotFor = TimeSpan.FromMilliseconds(100);
            o.CoolFor = TimeSpan.FromMilliseconds(600);
        });
    });

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private IEvalMeshClient Client => _cluster.Client;

    public ValueTask InitializeAsync() => _cluster.InitializeAsync();

    public ValueTask DisposeAsync() => _cluster.DisposeAsync();

    private string Adapter(int i) => $"tiny-random:{_cluster.Tiny.Adapters[i - 1]}";

    private static string Key(string model) => AdapterKey.FromModelName(model);

    private Task<InferenceReply> Ask(string model, int maxTokens = 4) =>
        Client.InferAsync(model, "Which messages mention BigQuery?", new GenerationOptions(maxTokens), Token);

    // The streamed pieces must add up to the reply's text: the reply comes back with the text the stream showed.
    private async Task<InferenceReply> AskStreamed(string model, int maxTokens = 4)
    {
        var (text, pieces) = (string.Empty, 0);
        await foreach (var chunk in Client.StreamInferenceAsync(model, "Which messages mention BigQuery?", new GenerationOptions(maxTokens), Token))
        {
            if (chunk.Reply is { } reply)
            {
                Assert.True(pieces > 1 || reply.CompletionTokens < 2, $"{reply.CompletionTokens} tokens came in {pieces} piece(s)");
                return reply with { Text = text };
            }

            (text, pieces) = (text + chunk.Text, pieces + 1);
        }

        throw new InvalidOperationException("the stream ended without a reply");
    }

    private async Task<DirectorySnapshot> WaitForAsync(Func<DirectorySnapshot, bool> condition, string what)
    {
        DirectorySnapshot snapshot = null!;
        await Poll.UntilAsync(async () => condition(snapshot = await Client.GetResidencyAsync(Token)), TimeSpan.FromSeconds(60), what);
        return snapshot;
    }

    private static string? Holder(DirectorySnapshot snapshot, string key) =>
        snapshot.Silos.FirstOrDefault(s => s.Adapters.Any(a => a.Key == key && a.Resident))?.Silo;

    [Fact]
    public async Task ColdAdapters_SpreadOverFreeSilos_AndLaterActivationsLandWhereTheAdapterIsResident()
    {
        var replies = new List<InferenceReply>();
        for (var i = 1; i <= 4; i++)
        {
            replies.Add(await Ask(Adapter(i)));
        }

        // Four cold adapters, four silos with two free slots each: one per silo.
        Assert.Equal(4, replies.Select(r => r.Route.Host).Distinct().Count());
        Assert.All(replies, r => Assert.False(r.Route.AdapterWasResident));
        var snapshot = await WaitForAsync(s => Enumerable.Range(1, 4).All(i => Holder(s, Key(Adapter(i))) is not null), "the directory to show the four adapters");

        // A fresh activation of the same adapter's host goes back to the silo that holds it.
        var holder = Holder(snapshot, Key(Adapter(2)))!;
        await _cluster.Cluster.DeactivateAsync(_cluster.Cluster.Client.GetAdapterHost(Key(Adapter(2))));
        var again = await Ask(Adapter(2));
        Assert.True(again.Route.AdapterWasResident);
        Assert.Equal(replies[1].Route.Host, again.Route.Host);
        Assert.Equal(replies[1].Text, again.Text);
        Assert.Contains(snapshot.Silos, s => s.Silo == holder);
    }

    [Fact]
    public async Task Eviction_UpdatesTheDirectory()
    {
        await Ask(Adapter(5));
        var key = Key(Adapter(5));
        await WaitForAsync(s => Holder(s, key) is not null, "adapter 5 to be resident");
        var evicted = await Client.EvictAdapterAsync(Adapter(5), Token);
        Assert.Single(evicted);
        var snapshot = await WaitForAsync(s => Holder(s, key) is null, "the eviction to reach the directory");

        // Its count stays: it is part of the adapter's cluster-wide frequency wherever it is loaded next.
        Assert.Contains(snapshot.Silos.SelectMany(s => s.Adapters), a => a.Key == key && a.Evictions == 1 && !a.Resident && a.Frequency == 1);
        Assert.Equal(1, snapshot.FrequencyOf(key));
    }

    [Fact]
    public async Task SiloEviction_RanksAnAdapterByWhatEverySiloAskedForIt()
    {
        var (a, b) = (_cluster.Cluster.Silos[0].SiloAddress.ToParsableString(), _cluster.Cluster.Silos[1].SiloAddress.ToParsableString());
        ISiloAgentGrain Agent(string silo) => _cluster.Cluster.Client.GetSiloAgent(silo);
        var call = new InferenceRequest("Which messages mention BigQuery?", new GenerationOptions(1));
        var (moved, local, cold) = (Key(Adapter(1)), Key(Adapter(2)), Key(Adapter(3)));

        // a serves `moved` three times and evicts it; then b serves `local` twice and `moved` once, which fills it.
        for (var i = 0; i < 3; i++)
        {
            await Agent(a).InferAsync(moved, call, stream: false, Token).ReplyAsync();
        }

        Assert.True(await Agent(a).EvictAsync(moved));
        foreach (var key in new[] { local, local, moved })
        {
            await Agent(b).InferAsync(key, call, stream: false, Token).ReplyAsync();
        }

        // Once b has reported twice since the directory knew both counts, its model host has a's count too.
        await WaitForAsync(s => s.FrequencyOf(moved) == 4 && s.FrequencyOf(local) == 2, "both silos' counts of the adapters");
        var since = DateTimeOffset.UtcNow;
        for (var i = 0; i < 2; i++)
        {
            since = (await WaitForAsync(s => s.Silos.Any(x => x.Silo == b && x.At > since), "b to report")).Silos.Single(x => x.Silo == b).At;
        }

        // New on b, `moved` looks cheaper there (1 against 2), but the cluster asked for it four times: `local` goes.
        await Agent(b).InferAsync(cold, call, stream: false, Token).ReplyAsync();
        var report = (await WaitForAsync(s => s.Silos.Single(x => x.Silo == b).Adapters.Any(x => x.Key == cold && x.Resident), "cold to be resident on b")).Silos.Single(x => x.Silo == b);
        Assert.Contains(report.Adapters, x => x.Key == moved && x.Resident);
        Assert.Contains(report.Adapters, x => x.Key == local && !x.Resident && x.Evictions == 1);
    }

    [Fact]
    public async Task LeaseAndRelease_ReachTheSnapshotEverySiloPlacesFrom()
    {
        await Ask(Adapter(6));
        var key = Key(Adapter(6));
        await WaitForAsync(s => Holder(s, key) is not null, "adapter 6 to be resident");
        var directory = _cluster.Cluster.Client.GetAdapterDirectory();

        await directory.LeaseAsync("run-1", [key]);
        Assert.Contains(key, (await Client.GetResidencyAsync(Token)).Leased);

        // Released: idle and unused at once, whatever the silo's last report said.
        await directory.ReleaseAsync(key);
        var released = (await Client.GetResidencyAsync(Token)).Silos.SelectMany(s => s.Adapters).Single(a => a.Key == key && a.Resident);
        Assert.Equal((0, 0), (released.Frequency, released.Queue));

        await directory.LeaseAsync("run-1", []);
        Assert.DoesNotContain(key, (await Client.GetResidencyAsync(Token)).Leased);
    }

    [Fact]
    public async Task Streaming_FollowsTheAdapter_ToTheSiloThatHoldsIt()
    {
        var model = Adapter(6);
        var key = Key(model);
        var whole = await Ask(model, maxTokens: 16);
        var streamed = await AskStreamed(model, maxTokens: 16);
        Assert.Equal(whole.Text, streamed.Text);
        Assert.Equal(whole.Route.Host, streamed.Route.Host);
        Assert.True(streamed.Route.AdapterWasResident);

        // Moved to another silo behind its host's back: the host forwards the stream to the silo that holds it now.
        var holder = Holder(await WaitForAsync(s => Holder(s, key) is not null, "adapter 6 to be resident"), key)!;
        var other = _cluster.Cluster.Silos.Select(s => s.SiloAddress.ToParsableString()).First(s => s != holder);
        Assert.True(await _cluster.Cluster.Client.GetSiloAgent(holder).EvictAsync(key));
        Assert.False(await _cluster.Cluster.Client.GetSiloAgent(other).PrefetchAsync(key));
        await WaitForAsync(s => Holder(s, key) == other, "adapter 6 to be resident on the other silo only");
        var moved = await AskStreamed(model, maxTokens: 16);
        Assert.Equal(whole.Text, moved.Text);
        Assert.NotEqual(whole.Route.Host, moved.Route.Host);
        Assert.True(moved.Route.AdapterWasResident);
    }

    [Fact]
    public async Task KilledSilo_ItsAdaptersAreReloadedElsewhere_AndRequestsSucceed()
    {
        // Three cold adapters land on three different silos; the test host cannot kill its first silo, so the victim is
        // the holder of the first of them that is elsewhere.
        var replies = new Dictionary<int, InferenceReply>();
        foreach (var i in new[] { 4, 5, 6 })
        {
            replies[i] = await Ask(Adapter(i));
        }

        var primary = _cluster.Cluster.Silos[0].SiloAddress.ToParsableString();
        var snapshot = await WaitForAsync(s => replies.Keys.All(i => Holder(s, Key(Adapter(i))) is not null), "adapters 4-6 to be resident");
        var chosen = replies.Keys.First(i => Holder(snapshot, Key(Adapter(i))) != primary);
        var (first, key) = (replies[chosen], Key(Adapter(chosen)));
        var holder = Holder(snapshot, key)!;
        var victim = _cluster.Cluster.Silos.Single(s => s.SiloAddress.ToParsableString() == holder);
        await _cluster.Cluster.KillSiloAsync(victim, Token);

        // Requests keep succeeding, streamed or not; once membership has declared the silo dead they are served elsewhere.
        InferenceReply after = null!;
        var streamed = false;
        await Poll.UntilAsync(async () => (after = (streamed = !streamed) ? await AskStreamed(Adapter(chosen)) : await Ask(Adapter(chosen))).Route.Host != first.Route.Host, TimeSpan.FromSeconds(90), "a request served by a survivor");
        Assert.Equal(first.Text, after.Text);
        await WaitForAsync(s => s.Silos.All(x => x.Silo != holder) && Holder(s, key) is not null, "the dead silo to leave the directory");
    }

    [Fact]
    public async Task HotAdapter_GetsReplicasUnderSustainedLoad_ThatGoAwayAfterIt()
    {
        var model = Adapter(3);
        var key = Key(model);
        var expected = await Ask(model, maxTokens: 24);
        using var stop = new CancellationTokenSource();
        var silos = new System.Collections.Concurrent.ConcurrentBag<string>();
        var texts = new System.Collections.Concurrent.ConcurrentBag<string>();
        var load = Enumerable.Range(0, 24).Select(async worker =>
        {
            while (!stop.IsCancellationRequested)
            {
                var reply = worker % 2 == 0 ? await Ask(model, maxTokens: 24) : await AskStreamed(model, maxTokens: 24);
                silos.Add(reply.Route.Host);
                texts.Add(reply.Text);
            }
        }).ToList();
        await WaitForAsync(s => s.ReplicasOf(key) >= 2, "a replica under load");
        await Poll.UntilAsync(() => Task.FromResult(silos.Distinct().Count() >= 2), TimeSpan.FromSeconds(60), "requests served by a second silo");
        await stop.CancelAsync();
        await Task.WhenAll(load);

        // Greedy output is the same wherever the adapter runs, streamed or not.
        Assert.All(texts, t => Assert.Equal(expected.Text, t));
        var retired = await WaitForAsync(s => s.ReplicasOf(key) == 1 && !s.Homes.ContainsKey(AdapterKey.Replica(key, 2)), "the replica to be retired");

        // The copy the replica left behind serves nothing the home's copy does not: however popular the adapter, it
        // is the first to go when its silo needs room.
        var home = retired.Homes[key];
        var copies = retired.Silos.Where(x => x.Silo != home && x.Adapters.Any(a => a.Key == key && a.Resident)).Select(x => x.Silo).ToList();
        Assert.NotEmpty(copies);
        Assert.All(copies, silo => Assert.True(retired.IsSurplus(key, silo)));
        Assert.False(retired.IsSurplus(key, home));
        var left = copies[0];

        // Once the silo has reported twice since, its model host has the snapshot without the replica's home.
        var since = retired.Silos.Single(x => x.Silo == left).At;
        for (var i = 0; i < 2; i++)
        {
            since = (await WaitForAsync(s => s.Silos.Single(x => x.Silo == left).At > since, "the replica's silo to report")).Silos.Single(x => x.Silo == left).At;
        }

        var call = new InferenceRequest("Which messages mention BigQuery?", new GenerationOptions(1));
        foreach (var cold in new[] { Key(Adapter(4)), Key(Adapter(5)) })
        {
            await _cluster.Cluster.Client.GetSiloAgent(left).InferAsync(cold, call, stream: false, Token).ReplyAsync();
        }

        var after = await WaitForAsync(s => s.Silos.Single(x => x.Silo == left).Adapters.Count(a => a.Resident) == 2 && s.Silos.Single(x => x.Silo == left).Adapters.Any(a => a.Key == Key(Adapter(5)) && a.Resident), "the cold adapters on the replica's silo");
        Assert.Contains(after.Silos.Single(x => x.Silo == left).Adapters, a => a.Key == key && !a.Resident);
        Assert.Contains(after.Silos.Single(x => x.Silo == home).Adapters, a => a.Key == key && a.Resident);
    }
}
