using EvalMesh.Abstractions;
using EvalMesh.Evaluation.Formats;
using EvalMesh.Evaluation.Generation;
using EvalMesh.Inference.Gguf;
using EvalMesh.Inference.Llama;
using EvalMesh.Inference.Tiny;
using EvalMesh.Testing;

namespace EvalMesh.Inference.Tests;

public sealed class ModelHostTests(TinyModelFixture tiny)
{
    private static readonly string[] Prompts =
    [
        "Question: which messages mention BigQuery?\nAnswer:",
        "List the permalinks of every message posted by U089VWX0YZA.",
        "BigQueryのコスト、先月より30%増えてます。",
        "Records:\ntype,ts,user\nmessage,1759281552.660739,U04XYZ8ABCD\nQuestion: who posted?\nAnswer:",
    ];

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private Call Request(string? adapter, string prompt, int maxTokens = 12, int prefixLength = 0) =>
        new(Files(adapter), new InferenceRequest(prompt, TinyModelFixture.Greedy(maxTokens), prefixLength));

    private ModelFiles Files(string? adapter) => new(tiny.Model, adapter);

    private static async Task<List<InferenceReply>> OneByOne(ModelHost host, IEnumerable<Call> requests)
    {
        var results = new List<InferenceReply>();
        foreach (var request in requests)
        {
            results.Add(await host.InferAsync(request, Token));
        }

        return results;
    }

    [Fact]
    public async Task Greedy_SameRequestTwice_GivesTheSameTokens()
    {
        using var host = TinyModelFixture.Host();
        var first = await host.InferAsync(Request(null, Prompts[0]), Token);
        var second = await host.InferAsync(Request(null, Prompts[0]), Token);
        Assert.Equal(12, first.CompletionTokens);
        Assert.Equal("length", first.FinishReason);
        Assert.Equal(first.Tokens, second.Tokens);
        Assert.Equal(first.Text, second.Text);
    }

    [Fact]
    public async Task Adapters_ChangeTheOutput_RemovingRestoresIt_AndSwappingBackReproducesIt()
    {
        using var host = TinyModelFixture.Host();
        var (a, b) = (tiny.Files.Adapters[0], tiny.Files.Adapters[1]);
        var results = await OneByOne(host, [Request(null, Prompts[0]), Request(a, Prompts[0]), Request(b, Prompts[0]), Request(a, Prompts[0]), Request(null, Prompts[0])]);
        var (baseOut, aOut, bOut, aAgain, baseAgain) = (results[0], results[1], results[2], results[3], results[4]);
        Assert.NotEqual(baseOut.Tokens, aOut.Tokens);
        Assert.NotEqual(baseOut.Tokens, bOut.Tokens);
        Assert.NotEqual(aOut.Tokens, bOut.Tokens);
        Assert.Equal(aOut.Tokens, aAgain.Tokens);
        Assert.Equal(baseOut.Tokens, baseAgain.Tokens);
        Assert.False(aOut.Route.AdapterWasResident);
        Assert.True(aAgain.Route.AdapterWasResident);
        Assert.Equal(new AdapterCacheStats(2, 0, 1, 2, 2, new FileInfo(a).Length + new FileInfo(b).Length), host.Residency.Stats);
    }

    [Fact]
    public async Task ConcurrentRequestsAcrossAdapters_EqualTheirSequentialOutputs()
    {
        using var host = TinyModelFixture.Host();
        var adapters = new string?[] { null, tiny.Files.Adapters[0], tiny.Files.Adapters[1], tiny.Files.Adapters[2] };
        var requests = adapters.SelectMany(a => Prompts.Select(p => Request(a, p))).ToList();
        var sequential = await OneByOne(host, requests);
        var concurrent = await Task.WhenAll(requests.Select(r => host.InferAsync(r, Token)));
        Assert.Contains(concurrent, r => r.BatchSize > 1);
        foreach (var (expected, actual) in sequential.Zip(concurrent))
        {
            Outputs.AssertSameOrNearTie(expected, actual);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task PromptCache_ARequestThatStartsLikeTheLast_DecodesOnlyWhatIsNew_AndAnswersAsIfItDecodedAll(bool kvUnified)
    {
        // No declared prefix, as a gateway request: the host finds what the new prompt has in common with the last one.
        var context = "Records:\n" + RecordFormats.Get("csv").Render(SlackGenerator.Generate(new SlackGeneratorOptions(Messages: 30)).Messages) + "\n";
        var first = Request(null, context + "Question: what is the permalink of message 3?\nAnswer:");
        var second = Request(null, context + "Question: who posted message 7?\nAnswer:");
        using var host = TinyModelFixture.Host(o => o.KvUnified = kvUnified);
        var a = await host.InferAsync(first, Token);
        Assert.Equal(0, a.CachedTokens);
        var before = host.Stats.PromptTokensDecoded;
        var b = await host.InferAsync(second, Token);
        var decodedForB = host.Stats.PromptTokensDecoded - before;

        Assert.InRange(b.CachedTokens, 500, b.PromptTokens - 1);
        Assert.Equal(b.PromptTokens - b.CachedTokens, decodedForB);
        Assert.True(decodedForB < 30, $"{decodedForB} of {b.PromptTokens} prompt tokens decoded");

        using var plain = TinyModelFixture.Host(o => (o.PrefixReuse, o.KvUnified) = (false, kvUnified));
        var expected = await plain.InferAsync(second, Token);
        Assert.Equal(expected.PromptTokens, b.PromptTokens);
        Outputs.AssertSameOrNearTie(expected, b);

        // A prompt with little in common (less than MinCachedPrefix tokens) decodes everything.
        var other = await host.InferAsync(Request(null, Prompts[2]), Token);
        Assert.Equal(0, other.CachedTokens);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task PromptCache_ConcurrentRequestsThatStartAlike_WaitForTheFirstPrompt_AndShareIt(bool kvUnified)
    {
        var context = "Records:\n" + RecordFormats.Get("csv").Render(SlackGenerator.Generate(new SlackGeneratorOptions(Messages: 30)).Messages) + "\n";
        var requests = Enumerable.Range(1, 4).Select(i => Request(null, context + $"Question: who posted message {i}?\nAnswer:")).ToList();
        using var host = TinyModelFixture.Host(o => o.KvUnified = kvUnified);
        var replies = await Task.WhenAll(requests.Select(r => host.InferAsync(r, Token)));

        // One of them decodes the context; the others reuse it.
        Assert.Single(replies, r => r.CachedTokens == 0);
        Assert.Equal(3, replies.Count(r => r.CachedTokens > 500));
        Assert.Equal(replies.Sum(r => r.PromptTokens - r.CachedTokens), host.Stats.PromptTokensDecoded);
    }

    [Fact]
    public async Task TooManyWaiting_IsRefusedAtOnce_WithATimeToTryAgain_AndTheOthersAreServed()
    {
        using var host = TinyModelFixture.Host(o => (o.MaxWaitingRequests, o.MaxBatchSequences) = (1, 1));
        var started = new TaskCompletionSource();
        var running = host.InferAsync(Request(null, Prompts[0], maxTokens: 4000), _ => started.TrySetResult(), Token);
        await started.Task.WaitAsync(Token);
        var waiting = host.InferAsync(Request(null, Prompts[1], maxTokens: 2), Token);

        var refused = await Assert.ThrowsAsync<InferenceException>(() => host.InferAsync(Request(null, Prompts[2], maxTokens: 2), Token));
        Assert.Equal(InferenceProblem.Overloaded, refused.Problem);
        Assert.Equal("overloaded", refused.Code);
        Assert.InRange(refused.RetryAfter!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
        Assert.Contains("MaxWaitingRequests", refused.Message, StringComparison.Ordinal);

        Assert.Equal("length", (await running).FinishReason);
        Assert.Equal(2, (await waiting).CompletionTokens);
        Assert.Equal(2, (await host.InferAsync(Request(null, Prompts[2], maxTokens: 2), Token)).CompletionTokens);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task PrefixReuse_GivesTheSameOutputAsDecodingEverything(bool kvUnified)
    {
        var context = "Records:\n" + RecordFormats.Get("csv").Render(SlackGenerator.Generate(new SlackGeneratorOptions(Messages: 30)).Messages) + "\n";
        var requests = Enumerable.Range(1, 6).Select(i => Request(tiny.Files.Adapters[0], context + $"Question: what is the permalink of message {i}?\nAnswer:", prefixLength: context.Length)).ToList();
        using var reusing = TinyModelFixture.Host(o => o.KvUnified = kvUnified);
        using var plain = TinyModelFixture.Host(o => (o.PrefixReuse, o.KvUnified) = (false, kvUnified));
        var reused = await OneByOne(reusing, requests);
        var decoded = await OneByOne(plain, requests);
        Assert.Equal(0, reused[0].CachedTokens);
        Assert.All(reused.Skip(1), r => Assert.InRange(r.CachedTokens, 500, r.PromptTokens - 1));
        Assert.All(decoded, r => Assert.Equal(0, r.CachedTokens));
        Assert.All(reused, r => Assert.True(r.PromptTokens > 500, $"{r.PromptTokens} prompt tokens"));
        foreach (var (expected, actual) in decoded.Zip(reused))
        {
            Assert.Equal(expected.PromptTokens, actual.PromptTokens);
            Outputs.AssertSameOrNearTie(expected, actual);
        }

        var batched = await Task.WhenAll(requests.Select(r => reusing.InferAsync(r, Token)));
        foreach (var (expected, actual) in decoded.Zip(batched))
        {
            Outputs.AssertSameOrNearTie(expected, actual);
        }
    }

    [Fact]
    public async Task KvStreams_AnswerAsTheUnifiedCacheDoes_AndShareCachedPromptsByCopyingThem()
    {
        // A KV stream per sequence (kv_unified off): a cached prompt is shared by copying its stream, then trimmed.
        var context = "Records:\n" + RecordFormats.Get("csv").Render(SlackGenerator.Generate(new SlackGeneratorOptions(Messages: 30)).Messages) + "\n";
        var declared = Enumerable.Range(1, 4).Select(i => Request(tiny.Files.Adapters[0], context + $"Question: what is the permalink of message {i}?\nAnswer:", prefixLength: context.Length)).ToList();
        var undeclared = Enumerable.Range(1, 4).Select(i => Request(null, context + $"Question: who posted message {i}?\nAnswer:")).ToList();
        using var plain = TinyModelFixture.Host(o => (o.PrefixReuse, o.KvUnified) = (false, true));
        using var streams = TinyModelFixture.Host(o => o.KvUnified = false);
        var expected = await OneByOne(plain, [.. declared, .. undeclared]);

        var sequential = await OneByOne(streams, declared);
        Assert.Equal(0, sequential[0].CachedTokens);
        Assert.All(sequential.Skip(1), r => Assert.InRange(r.CachedTokens, 500, r.PromptTokens - 1));
        var concurrent = await Task.WhenAll(declared.Concat(undeclared).Select(r => streams.InferAsync(r, Token)));
        Assert.Contains(concurrent, r => r.BatchSize > 1);
        Assert.Equal(3, concurrent[4..].Count(r => r.CachedTokens > 500));
        foreach (var (want, actual) in expected.Zip(sequential.Concat(concurrent[4..])))
        {
            Assert.Equal(want.PromptTokens, actual.PromptTokens);
            Outputs.AssertSameOrNearTie(want, actual);
        }

        foreach (var (want, actual) in expected.Zip(concurrent))
        {
            Outputs.AssertSameOrNearTie(want, actual);
        }
    }

    [Fact]
    public void KvLayout_Unset_GivesASmallModelAStreamPerSequence_AndOneCacheWhenTheStreamsWouldTakeMore()
    {
        // The random tiny model: 2 layers whose keys and values are 64 wide, at 2 bytes, in 16,384 cells × 9 streams.
        var info = GgufValidator.ValidateModel(tiny.Model);
        const long Streams = 2L * (64 + 64) * 2 * 16_384 * 9;
        Assert.True(LoadedModel.FitsStreams(info, new ModelHostOptions { ContextSize = 16_384, KvStreamBudgetBytes = Streams }));
        Assert.False(LoadedModel.FitsStreams(info, new ModelHostOptions { ContextSize = 16_384, KvStreamBudgetBytes = Streams - 1 }));

        using var small = LoadedModel.Load(info, new ModelHostOptions { ContextSize = 2048 });
        using var large = LoadedModel.Load(info, new ModelHostOptions { ContextSize = 2048, KvStreamBudgetBytes = 0 });
        using var unified = LoadedModel.Load(info, new ModelHostOptions { ContextSize = 2048, KvUnified = true });
        Assert.Equal((false, 2048u * 9), (small.Parameters.KVUnified, small.Parameters.ContextSize));
        Assert.Equal((true, 2048u), (large.Parameters.KVUnified, large.Parameters.ContextSize));
        Assert.Equal((true, 2048u), (unified.Parameters.KVUnified, unified.Parameters.ContextSize));
    }

    [Fact]
    public async Task Eviction_UnderASmallBudget_NeverBreaksAnInFlightRequest()
    {
        using var roomy = TinyModelFixture.Host();
        using var tight = TinyModelFixture.Host(o => o.MaxAdapters = 1);
        var requests = Enumerable.Range(0, 12).Select(i => Request(tiny.Files.Adapters[i % 3], Prompts[i % Prompts.Length], maxTokens: 8)).ToList();
        var expected = await OneByOne(roomy, requests);
        var actual = await Task.WhenAll(requests.Select(r => tight.InferAsync(r, Token)));
        foreach (var (e, a) in expected.Zip(actual))
        {
            Outputs.AssertSameOrNearTie(e, a);
        }

        var stats = tight.Residency.Stats;
        Assert.True(stats.Evictions >= 2, stats.ToString());
        Assert.Equal(1, stats.Resident);
    }

    [Fact]
    public async Task Prefetch_LoadsTheAdapterSoItsFirstRequestFindsItResident()
    {
        using var host = TinyModelFixture.Host();
        Assert.False(await host.PrefetchAsync(Files(tiny.Files.Adapters[2]), Token));
        Assert.True(await host.PrefetchAsync(Files(tiny.Files.Adapters[2]), Token));
        var result = await host.InferAsync(Request(tiny.Files.Adapters[2], Prompts[0]), Token);
        Assert.True(result.Route.AdapterWasResident);
        Assert.Equal(1, host.Residency.Stats.Loads);
    }

    [Fact]
    public async Task Prefetch_IntoAFullCache_EvictsNothing()
    {
        using var host = TinyModelFixture.Host(o => o.MaxAdapters = 1);
        await host.InferAsync(Request(tiny.Files.Adapters[0], Prompts[0]), Token);
        Assert.False(await host.PrefetchAsync(Files(tiny.Files.Adapters[1]), Token));
        Assert.True(host.Residency.IsResident(Files(tiny.Files.Adapters[0])));
        Assert.False(host.Residency.IsResident(Files(tiny.Files.Adapters[1])));
        Assert.Equal((1L, 0L), (host.Residency.Stats.Loads, host.Residency.Stats.Evictions));
    }

    [Fact]
    public async Task FullCache_EvictsTheLeastUsedAdapter_AndAReleasedOneFirst()
    {
        using var host = TinyModelFixture.Host(o => o.MaxAdapters = 2);
        var (popular, rare, cold) = (tiny.Files.Adapters[0], tiny.Files.Adapters[1], tiny.Files.Adapters[2]);
        foreach (var adapter in new[] { popular, popular, popular, rare, popular })
        {
            await host.InferAsync(Request(adapter, Prompts[0], maxTokens: 1), Token);
        }

        // The rare adapter was used more recently than the popular one's first uses, but less often: it makes room.
        await host.InferAsync(Request(cold, Prompts[0], maxTokens: 1), Token);
        Assert.True(host.Residency.IsResident(Files(popular)));
        Assert.False(host.Residency.IsResident(Files(rare)));

        // Once released, the popular adapter is the first to go.
        host.Release(Files(popular));
        await host.InferAsync(Request(rare, Prompts[0], maxTokens: 1), Token);
        Assert.False(host.Residency.IsResident(Files(popular)));
        Assert.True(host.Residency.IsResident(Files(cold)));
    }

    [Theory]
    [InlineData(60_000, 400, false)]
    [InlineData(20, 4000, true)] // the rare adapter's request could run for far longer than 20 ms: no wait in vain
    [InlineData(0, 400, true)]
    public async Task FullCache_ALoadWaitsForTheLeastUsedAdapterToFinishItsRequest_RatherThanEvictAMoreUsedIdleOne(int victimWaitMs, int busyTokens, bool popularEvicted)
    {
        using var host = TinyModelFixture.Host(o => (o.MaxAdapters, o.VictimWait) = (2, TimeSpan.FromMilliseconds(victimWaitMs)));
        var (popular, rare, cold) = (tiny.Files.Adapters[0], tiny.Files.Adapters[1], tiny.Files.Adapters[2]);
        foreach (var adapter in new[] { popular, popular, popular })
        {
            await host.InferAsync(Request(adapter, Prompts[0], maxTokens: 1), Token);
        }

        // The rare adapter, the one to evict, is busy with a long request when the cold one arrives; the popular one is idle.
        var waitsBefore = InferenceMetrics.AdapterVictimWait.Count;
        var generating = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var busy = host.InferAsync(Request(rare, Prompts[0], maxTokens: busyTokens), _ => generating.TrySetResult(), Token);
        await generating.Task;
        var coldResult = await host.InferAsync(Request(cold, Prompts[0], maxTokens: 1), Token);
        Assert.Equal(!popularEvicted, busy.IsCompleted);
        Assert.Equal(busyTokens, (await busy).CompletionTokens);
        Assert.False(coldResult.Route.AdapterWasResident);
        Assert.Equal(popularEvicted, !host.Residency.IsResident(Files(popular)));
        Assert.Equal(popularEvicted, host.Residency.IsResident(Files(rare)));
        Assert.True(host.Residency.IsResident(Files(cold)));
        Assert.Equal(2, host.Residency.Stats.Resident);
        Assert.Equal(popularEvicted ? 0 : 1, InferenceMetrics.AdapterVictimWait.Count - waitsBefore);
    }

    [Fact]
    public async Task FullCache_RanksVictimsByClusterWideFrequency_AndKeepsTheCountOfAnEvictedAdapter()
    {
        using var host = TinyModelFixture.Host(o => o.MaxAdapters = 2);
        var (local, moved, cold) = (tiny.Files.Adapters[0], tiny.Files.Adapters[1], tiny.Files.Adapters[2]);
        foreach (var adapter in new[] { local, local, local, moved })
        {
            await host.InferAsync(Request(adapter, Prompts[0], maxTokens: 1), Token);
        }

        // New here, the moved adapter looks like a one-off, but other silos asked for it ten times: the local one goes.
        host.SetElsewhere(new Dictionary<ModelFiles, Elsewhere> { [Files(moved)] = new(10) });
        await host.InferAsync(Request(cold, Prompts[0], maxTokens: 1), Token);
        Assert.True(host.Residency.IsResident(Files(moved)));
        Assert.False(host.Residency.IsResident(Files(local)));
        Assert.Equal((3, 1), (host.Residency.FrequencyOf(Files(local)), host.Residency.FrequencyOf(Files(moved))));

        // Released, it forgets the other silos' count too: it is the first to go.
        host.Release(Files(moved));
        await host.InferAsync(Request(local, Prompts[0], maxTokens: 1), Token);
        Assert.False(host.Residency.IsResident(Files(moved)));
        Assert.True(host.Residency.IsResident(Files(cold)));
    }

    [Fact]
    public async Task CorruptAdapter_FailsWithItsTypedError_AndTheHostKeepsServing()
    {
        using var host = TinyModelFixture.Host();
        var before = await host.InferAsync(Request(tiny.Files.Adapters[0], Prompts[1]), Token);
        var truncated = Path.Combine(tiny.Folder, "truncated-adapter.gguf");
        var bytes = File.ReadAllBytes(tiny.Files.Adapters[1]);
        File.WriteAllBytes(truncated, bytes[..(bytes.Length - 100)]);
        var ex = await Assert.ThrowsAsync<GgufException>(() => host.InferAsync(Request(truncated, Prompts[1]), Token));
        Assert.Equal(GgufProblem.Truncated, ex.Problem);
        var wrongKind = await Assert.ThrowsAsync<GgufException>(() => host.InferAsync(Request(tiny.Model, Prompts[1]), Token));
        Assert.Equal(GgufProblem.NotAnAdapter, wrongKind.Problem);
        var after = await host.InferAsync(Request(tiny.Files.Adapters[0], Prompts[1]), Token);
        Assert.Equal(before.Tokens, after.Tokens);
    }

    [Fact]
    public async Task StopSequencesAndMaxTokens_EndGeneration()
    {
        using var host = TinyModelFixture.Host();
        var free = await host.InferAsync(Request(null, Prompts[0], maxTokens: 20), Token);
        var stop = free.Text.Length > 6 ? free.Text.Substring(3, 3) : free.Text;
        var stopped = await host.InferAsync(Request(null, Prompts[0], maxTokens: 20).With(new GenerationOptions(20, Stop: [stop])), Token);
        Assert.Equal("stop", stopped.FinishReason);
        Assert.Equal(free.Text[..free.Text.IndexOf(stop, StringComparison.Ordinal)], stopped.Text);
        var one = await host.InferAsync(Request(null, Prompts[0], maxTokens: 1), Token);
        Assert.Equal(1, one.CompletionTokens);
        Assert.Equal(free.Tokens[0], one.Tokens[0]);
    }

    [Fact]
    public async Task Streaming_PiecesAddUpToTheText_AndHoldBackWhatCouldStartAStopSequence()
    {
        using var host = TinyModelFixture.Host();
        foreach (var prompt in Prompts)
        {
            var pieces = new List<string>();
            var free = await host.InferAsync(Request(null, prompt, maxTokens: 24), u => pieces.Add(u.Text), Token);
            Assert.Equal(free.Text, string.Concat(pieces));
            Assert.True(pieces.Count > 1, $"one piece for 24 tokens: '{free.Text}'");

            // A stop sequence that straddles two pieces: the pieces end before it, and none shows any of it.
            var middle = pieces.Count / 2;
            var stop = string.Concat(pieces[middle - 1][^1], pieces[middle][0]);
            pieces.Clear();
            var stopped = await host.InferAsync(Request(null, prompt, maxTokens: 24).With(new GenerationOptions(24, Stop: [stop])), u => pieces.Add(u.Text), Token);
            Assert.Equal("stop", stopped.FinishReason);
            Assert.Equal(stopped.Text, string.Concat(pieces));
            Assert.DoesNotContain(stop, string.Concat(pieces), StringComparison.Ordinal);

            // One that never completes: what was held back while it might have is sent at the end.
            pieces.Clear();
            var almost = await host.InferAsync(Request(null, prompt, maxTokens: 24).With(new GenerationOptions(24, Stop: [stop + "\u0001"])), u => pieces.Add(u.Text), Token);
            Assert.Equal(free.Text, almost.Text);
            Assert.Equal(free.Text, string.Concat(pieces));
        }
    }

    [Fact]
    public async Task Logprobs_SpellTheText_GreedyTokensAreTheLikeliest_AndStreamedPiecesCarryTheirOwn()
    {
        using var host = TinyModelFixture.Host();
        var adapter = tiny.Files.Adapters[0];
        Call WithLogprobs(int top, IReadOnlyList<string>? stop = null) =>
            Request(adapter, Prompts[1], maxTokens: 16).With(new GenerationOptions(16, Stop: stop, TopLogprobs: top));

        var plain = await host.InferAsync(Request(adapter, Prompts[1], maxTokens: 16), Token);
        Assert.Null(plain.Logprobs);

        var pieces = new List<InferenceChunk>();
        var result = await host.InferAsync(WithLogprobs(3), pieces.Add, Token);
        Assert.Equal(plain.Text, result.Text);
        var logprobs = result.Logprobs!;
        Assert.Equal(System.Text.Encoding.UTF8.GetBytes(result.Text), logprobs.SelectMany(l => l.Bytes).ToArray());
        Assert.All(logprobs, l =>
        {
            Assert.Equal(3, l.Top.Count);
            Assert.True(l.Logprob <= 0, $"log probability {l.Logprob} above 0");
            Assert.Equal(l.Top.Select(a => a.Logprob).OrderDescending(), l.Top.Select(a => a.Logprob));
            Assert.Equal((l.Token, l.Logprob), (l.Top[0].Token, l.Top[0].Logprob));
            Assert.True(l.Top.Sum(a => Math.Exp(a.Logprob)) <= 1.0001);
        });
        Assert.Equal(logprobs.Select(l => (l.Token, l.Logprob)), pieces.SelectMany(p => p.Logprobs!).Select(l => (l.Token, l.Logprob)));

        // Cut by a stop sequence: the tokens that make up the text, not those of the stop sequence after it.
        var cut = logprobs.Count / 2;
        var stop = string.Concat(logprobs.Skip(cut).Take(2).Select(l => l.Token));
        var stopped = await host.InferAsync(WithLogprobs(0, [stop]), Token);
        Assert.Equal(result.Text[..result.Text.IndexOf(stop, StringComparison.Ordinal)], stopped.Text);
        Assert.Equal(logprobs.Take(cut).Select(l => l.Token), stopped.Logprobs!.Select(l => l.Token));
        Assert.All(stopped.Logprobs!, l => Assert.Empty(l.Top));
    }

    [Fact]
    public async Task Streaming_CancelledAfterTheFirstPiece_StopsGeneratingAtTheNextStep()
    {
        using var host = TinyModelFixture.Host();
        using var listener = new CancellationTokenSource();
        var before = host.Stats.TokensGenerated;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => host.InferAsync(Request(null, Prompts[0], maxTokens: 500), _ => listener.Cancel(), listener.Token));
        Assert.InRange(host.Stats.TokensGenerated - before, 1, 3);
        var fine = await host.InferAsync(Request(null, Prompts[0]), Token);
        Assert.Equal(12, fine.CompletionTokens);
    }

    [Fact]
    public async Task StreamAsync_YieldsThePiecesThenTheResult_AndLeavingEarlyStopsTheGeneration()
    {
        using var host = TinyModelFixture.Host();
        var updates = new List<InferenceChunk>();
        await foreach (var update in host.StreamAsync(Request(null, Prompts[3], maxTokens: 24), Token))
        {
            updates.Add(update);
        }

        var result = updates[^1].Reply!;
        Assert.All(updates[..^1], u => Assert.Null(u.Reply));
        Assert.Equal(result.Text, string.Concat(updates.Select(u => u.Text)));

        var whole = await host.InferAsync(Request(null, Prompts[3], maxTokens: 2000), Token);
        Assert.Equal("length", whole.FinishReason);
        var before = host.Stats.TokensGenerated;
        await foreach (var update in host.StreamAsync(Request(null, Prompts[3], maxTokens: 2000), Token))
        {
            Assert.Equal(whole.Text[..update.Text.Length], update.Text);
            break;
        }

        await Poll.UntilAsync(async () => (await host.GetQueueDepthsAsync(Token)).Values.Sum() == 0, TimeSpan.FromSeconds(30), "the host to drop the request");
        Assert.InRange(host.Stats.TokensGenerated - before, 1, 1999);
    }

    [Fact]
    public async Task SeededSampling_IsReproducibleAndDependsOnTheSeed()
    {
        using var host = TinyModelFixture.Host();
        Call Sampled(int seed) => Request(null, Prompts[2], maxTokens: 16).With(new GenerationOptions(16, Temperature: 1.5f, Seed: seed));
        var a = await host.InferAsync(Sampled(1), Token);
        var again = await host.InferAsync(Sampled(1), Token);
        var other = await host.InferAsync(Sampled(2), Token);
        Assert.Equal(a.Tokens, again.Tokens);
        Assert.NotEqual(a.Tokens, other.Tokens);
    }

    [Fact]
    public async Task TopP_SamplesOnlyFromTheNucleus_SoATinyOneIsGreedy()
    {
        using var host = TinyModelFixture.Host();
        var greedy = await host.InferAsync(Request(null, Prompts[2], maxTokens: 16), Token);
        foreach (var seed in new[] { 1, 2, 3 })
        {
            var nucleus = await host.InferAsync(Request(null, Prompts[2], maxTokens: 16).With(new GenerationOptions(16, Temperature: 1.5f, Seed: seed, TopP: 1e-6f)), Token);
            Assert.Equal(greedy.Tokens, nucleus.Tokens);
        }
    }

    [Fact]
    public async Task Cancellation_CancelsTheRequest()
    {
        using var host = TinyModelFixture.Host();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => host.InferAsync(Request(null, Prompts[0], maxTokens: 200), cancelled.Token));
        var fine = await host.InferAsync(Request(null, Prompts[0]), Token);
        Assert.Equal(12, fine.CompletionTokens);
    }

    [Fact]
    public async Task PromptLongerThanTheContext_FailsClearly()
    {
        using var host = TinyModelFixture.Host(o => o.ContextSize = 256);
        var ex = await Assert.ThrowsAsync<InferenceException>(() => host.InferAsync(Request(null, string.Concat(Enumerable.Repeat("BigQuery Kubernetes Terraform ", 200))), Token));
        Assert.Equal(InferenceProblem.ContextOverflow, ex.Problem);
        Assert.Contains("context window of 256 tokens", ex.Message);
    }

    [Fact]
    public async Task TokenCounter_UsesTheModelsOwnVocabulary()
    {
        using var host = TinyModelFixture.Host();
        var counter = await host.GetTokenCounterAsync(tiny.Model, Token);
        Assert.Equal("tiny-llama", counter.Name);
        var result = await host.InferAsync(Request(null, Prompts[1]), Token);
        Assert.Equal(result.PromptTokens, counter.CountTokens(Prompts[1]) + 1);
        Assert.True(counter.CountTokens("日本語") >= 3, "byte fallback makes unseen Japanese cost several tokens");
    }

    [Fact]
    public async Task CorruptAdapters_FailTheirOwnRequests_WhileTheHostKeepsServingTheOthers()
    {
        var folder = Directory.CreateTempSubdirectory("evalmesh-corrupt-").FullName;
        try
        {
            var good = tiny.Files.Adapters[0];
            var bytes = await File.ReadAllBytesAsync(good, Token);
            string Write(string name, byte[] content)
            {
                var path = Path.Combine(folder, name);
                File.WriteAllBytes(path, content);
                return path;
            }

            var magic = (byte[])bytes.Clone();
            magic[0] = (byte)'X';
            var version = (byte[])bytes.Clone();
            version[4] = 2;
            var corrupt = new Dictionary<string, GgufProblem>
            {
                [Write("truncated.gguf", bytes[..(bytes.Length / 2)])] = GgufProblem.Truncated,
                [Write("magic.gguf", magic)] = GgufProblem.WrongMagic,
                [Write("version.gguf", version)] = GgufProblem.WrongVersion,
                [Write("empty.gguf", [])] = GgufProblem.Empty,
                [tiny.Model] = GgufProblem.NotAnAdapter,
                [TinyModel.Write(Path.Combine(folder, "other"), seed: 7, adapters: 1).Adapters[0]] = GgufProblem.AdapterForAnotherBase,
            };

            using var host = TinyModelFixture.Host();
            var expected = await host.InferAsync(Request(good, Prompts[0]), Token);
            foreach (var (path, problem) in corrupt)
            {
                var bad = host.InferAsync(Request(path, Prompts[1]), Token);
                var meanwhile = host.InferAsync(Request(good, Prompts[0]), Token);
                Assert.Equal(problem, (await Assert.ThrowsAsync<GgufException>(() => bad)).Problem);
                Assert.Equal(expected.Tokens, (await meanwhile).Tokens);
            }

            Assert.Equal(1, host.Residency.Stats.Resident);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
