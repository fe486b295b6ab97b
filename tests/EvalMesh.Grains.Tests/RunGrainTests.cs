using EvalMesh.Abstractions;
using EvalMesh.Evaluation.Configuration;
using EvalMesh.Testing;
using EvalMesh.Training.Recipes;

namespace EvalMesh.Grains.Tests;

public sealed class RunGrainTests(ClusterFixture fixture) : IClassFixture<ClusterFixture>, IAsyncDisposable
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static EvalConfig Config(string endpoints, int messages = 12, int casesPerCategory = 2, string formats = "[csv, toon]", int repeats = 2) =>
        ConfigLoader.Parse($$"""
            datasets:
              - name: slack
                generate: { kind: slack, messages: {{messages}}, seed: 3, cases-per-category: {{casesPerCategory}} }
            suites:
              - name: slack
                dataset: slack
                generated: true
            formats: {{formats}}
            endpoints:
            {{endpoints}}
            repeats: {{repeats}}
            concurrency: 4
            """, "/tmp/test.yaml");

    private async Task<RunStatus> WaitAsync(string runId, TimeSpan timeout)
    {
        RunStatus status = null!;
        await Poll.UntilAsync(async () => (status = await fixture.Client.GetRunAsync(runId, Token)).IsFinished, timeout, $"run {runId} to finish");
        return status;
    }

    private async Task<List<CellResult>> ResultsAsync(string runId)
    {
        var results = new List<CellResult>();
        await foreach (var result in fixture.Client.GetResultsAsync(runId, Token))
        {
            results.Add(result);
        }

        return results;
    }

    [Fact]
    public async Task EchoRun_AcrossThreeSilos_HasExactlyOneResultPerCell_AndAggregatesMatchTheResults()
    {
        var config = Config("""
              - name: echo-a
                type: echo
              - name: echo-b
                type: echo
            """);
        var started = await fixture.Client.StartRunAsync(config, cancellationToken: Token);
        Assert.Equal(10 * 2 * 2 * 2, started.Total);
        var status = await WaitAsync(started.RunId, TimeSpan.FromMinutes(2));
        Assert.Equal(RunState.Completed, status.State);
        Assert.Equal(status.Total, status.Completed);

        var results = await ResultsAsync(started.RunId);
        Assert.Equal(status.Total, results.Count);
        Assert.Equal(results.Count, results.Select(r => r.CellId).Distinct().Count());
        Assert.Equal(results.Count(r => r.Outcome == CellOutcome.Passed), status.Passed);
        Assert.Equal(results.Count(r => r.Outcome == CellOutcome.Failed), status.Failed);
        Assert.All(results, r => Assert.True(r.PromptTokens["o200k_base"] > 100));

        var report = await fixture.Client.GetReportAsync(started.RunId, Token);
        Assert.Equal(4, report.Rows.Count);
        foreach (var row in report.Rows)
        {
            var cells = results.Where(r => r.Format == row.Format && r.Endpoint == row.Endpoint).ToList();
            Assert.Equal(cells.Count, row.Cells);
            Assert.Equal(cells.Count(c => c.Outcome == CellOutcome.Passed), row.Passed);
            Assert.Equal(cells.Average(c => c.PromptTokens["cl100k_base"]), row.MeanPromptTokens["cl100k_base"], 6);

            // Accuracy is per case: the mean over cases of each case's pass rate across its repeats (errors left out).
            var perCase = cells.Where(c => c.Outcome != CellOutcome.Error).GroupBy(c => c.CaseId).Select(g => g.Average(c => c.Outcome == CellOutcome.Passed ? 1.0 : 0.0)).ToList();
            Assert.Equal(perCase.Count, row.Cases);
            Assert.Equal(perCase.Average(), row.Accuracy, 12);
            Assert.InRange(row.Accuracy, row.AccuracyLower, row.AccuracyUpper);
        }

        Assert.Equal(2, report.Recommendations.Count);
        Assert.Contains(report.Comparisons, c => c.FormatA == "csv" && c.FormatB == "toon");

        Assert.Equal(started.RunId, (await fixture.Client.StartRunAsync(config, started.RunId, Token)).RunId);
        Assert.Contains(await fixture.Client.ListRunsAsync(Token), r => r.RunId == started.RunId && r.State == RunState.Completed);
    }

    [Fact]
    public async Task Shards_SpreadOverTheSilos()
    {
        // A shard per suite and endpoint: twelve endpoints make twelve shards, all on one of three silos with
        // probability 3 / 3^12 if each is placed at random.
        var endpoints = string.Join('\n', Enumerable.Range(1, 12).Select(i => $"  - name: echo-{i}\n    type: echo"));
        var started = await fixture.Client.StartRunAsync(Config(endpoints, casesPerCategory: 1, repeats: 1), cancellationToken: Token);
        Assert.Equal(RunState.Completed, (await WaitAsync(started.RunId, TimeSpan.FromMinutes(2))).State);

        var activations = await fixture.Cluster.Client.GetGrain<IManagementGrain>(0).GetDetailedGrainStatistics(types: null, hostsIds: null, Token);
        var shardsPerSilo = activations
            .Where(a => a.GrainId.Type.ToString() == "evalshard" && a.GrainId.Key.ToString().StartsWith(started.RunId + "/", StringComparison.Ordinal))
            .GroupBy(a => a.SiloAddress)
            .Select(g => g.Count())
            .ToList();
        Assert.Equal(12, shardsPerSilo.Sum());
        Assert.True(shardsPerSilo.Count > 1, $"all 12 shards on one silo of {fixture.Cluster.Silos.Count}");
    }

    [Fact]
    public async Task LlamaRun_ServesEveryCellThroughTheAdapterHost_WithTheModelsOwnTokenCounts()
    {
        var config = Config("""
              - name: tiny
                type: llama
                model: tiny-random
                max-tokens: 6
              - name: tiny-a1
                type: llama
                model: tiny-random
                adapter: adapter-1
                max-tokens: 6
            """, messages: 8, casesPerCategory: 1, formats: "[csv]", repeats: 1);
        var started = await fixture.Client.StartRunAsync(config, cancellationToken: Token);
        var status = await WaitAsync(started.RunId, TimeSpan.FromMinutes(3));
        Assert.Equal(RunState.Completed, status.State);
        var results = await ResultsAsync(started.RunId);
        Assert.Equal(10, results.Count);
        Assert.All(results, r =>
        {
            Assert.NotEqual(CellOutcome.Error, r.Outcome);
            Assert.True(r.PromptTokens["native"] > 50, "the model's own prompt token count is recorded");
            Assert.Equal(6, r.CompletionTokens);
            Assert.StartsWith("S127.0.0.1:", r.Silo);
        });

        // All requests for one base+adapter meet in one adapter-host activation, on one silo.
        Assert.Single(results.Where(r => r.Endpoint == "tiny-a1").Select(r => r.Silo).Distinct());
        var report = await fixture.Client.GetReportAsync(started.RunId, Token);
        Assert.Contains(report.Notes, n => n.StartsWith("Smoke model", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SeedExperiment_OnTheBuiltInTrainedModel_AnswersItsIndexQuestionsInTheFormatsItWasTrainedOn_AndIsNoSmokeModel()
    {
        // The README's seed experiment, its first ten questions of each suite (the index questions), the base model alone, once.
        var example = ConfigLoader.Load(RepoPaths.Under("client/examples/slack-formats.yaml"));
        var config = example with { Endpoints = [example.Endpoints.Single(e => e.Name == "tiny") with { Temperature = 0 }], Repeats = 1, Limit = 10 };
        var started = await fixture.Client.StartRunAsync(config, cancellationToken: Token);
        Assert.Equal(RunState.Completed, (await WaitAsync(started.RunId, TimeSpan.FromMinutes(3))).State);
        var results = await ResultsAsync(started.RunId);
        Assert.Equal(10 * example.Formats.Count, results.Count);
        Assert.All(results, r => Assert.StartsWith("index-", r.CaseId, StringComparison.Ordinal));
        Assert.All(results.Where(r => new TinyRecipe().Formats.Contains(r.Format)), r => Assert.Equal(CellOutcome.Passed, r.Outcome));

        var report = await fixture.Client.GetReportAsync(started.RunId, Token);
        Assert.DoesNotContain(report.Notes, n => n.StartsWith("Smoke model", StringComparison.Ordinal));
    }

    [Fact]
    public async Task LlamaRun_CountsEachPromptInTheModelsVocabularyBeforeSendingIt_SoACellThatErrorsHasItsCountToo()
    {
        // The second endpoint's adapter is the base model's file, which the model host refuses at inference.
        var config = Config($"""
              - name: tiny
                type: llama
                model: tiny-random
                max-tokens: 2
              - name: refused
                type: llama
                model: tiny-random
                adapter: {fixture.Tiny.Model}
                max-tokens: 2
            """, messages: 8, casesPerCategory: 1, formats: "[csv, pretty-json]", repeats: 1);
        var started = await fixture.Client.StartRunAsync(config, cancellationToken: Token);
        Assert.Equal(RunState.Completed, (await WaitAsync(started.RunId, TimeSpan.FromMinutes(3))).State);
        var results = await ResultsAsync(started.RunId);
        var served = results.Where(r => r.Endpoint == "tiny").ToDictionary(r => (r.CaseId, r.Format));
        var refused = results.Where(r => r.Endpoint == "refused").ToList();
        Assert.Equal(served.Count, refused.Count);
        Assert.All(refused, r =>
        {
            Assert.Equal(CellOutcome.Error, r.Outcome);
            Assert.Contains("not a LoRA adapter", r.Reason, StringComparison.Ordinal);
            Assert.Equal(served[(r.CaseId, r.Format)].PromptTokens["native"], r.PromptTokens["native"]);
        });

        // The report's token cost of a format holds for an endpoint that answered nothing.
        var report = await fixture.Client.GetReportAsync(started.RunId, Token);
        foreach (var format in new[] { "csv", "pretty-json" })
        {
            var row = Assert.Single(report.Rows, r => r.Endpoint == "refused" && r.Format == format);
            Assert.Equal(refused.Where(r => r.Format == format).Average(r => r.PromptTokens["native"]), row.MeanPromptTokens["native"], 6);
        }

        Assert.True(report.Rows.Single(r => r.Endpoint == "refused" && r.Format == "pretty-json").MeanPromptTokens["native"] > report.Rows.Single(r => r.Endpoint == "refused" && r.Format == "csv").MeanPromptTokens["native"]);
    }

    [Fact]
    public async Task LlamaRun_SamplesAtTheEndpointsTemperatureAndTopP_SeededByTheRepeat()
    {
        var config = Config("""
              - name: greedy
                type: llama
                model: tiny-random
                max-tokens: 6
              - name: sampled
                type: llama
                model: tiny-random
                max-tokens: 6
                temperature: 1.5
              - name: nucleus
                type: llama
                model: tiny-random
                max-tokens: 6
                temperature: 1.5
                top-p: 0.000001
            """, messages: 8, casesPerCategory: 1, formats: "[csv]", repeats: 2);
        var started = await fixture.Client.StartRunAsync(config, cancellationToken: Token);
        Assert.Equal(RunState.Completed, (await WaitAsync(started.RunId, TimeSpan.FromMinutes(3))).State);
        var outputs = (await ResultsAsync(started.RunId)).ToDictionary(r => (r.Endpoint, r.CaseId, r.Repeat), r => r.Output);
        var cells = outputs.Keys.Where(k => k.Endpoint == "greedy").Select(k => (k.CaseId, k.Repeat)).ToList();
        Assert.Equal(10, cells.Count);

        // A nucleus of (almost) only the likeliest token is greedy; the whole distribution is not, and its seed is the repeat.
        Assert.All(cells, c => Assert.Equal(outputs[("greedy", c.CaseId, c.Repeat)], outputs[("nucleus", c.CaseId, c.Repeat)]));
        Assert.Contains(cells, c => outputs[("sampled", c.CaseId, c.Repeat)] != outputs[("greedy", c.CaseId, c.Repeat)]);
        Assert.Contains(cells, c => c.Repeat == 1 && outputs[("sampled", c.CaseId, 1)] != outputs[("sampled", c.CaseId, 2)]);

        // The report says how it asked, so that its figures can be reproduced.
        var settings = (await fixture.Client.GetReportAsync(started.RunId, Token)).Settings!;
        Assert.Equal(2, settings.Repeats);
        Assert.Equal([("greedy", 0, 1), ("sampled", 1.5, 1), ("nucleus", 1.5, 0.000001)], settings.Endpoints.Select(e => (e.Name, e.Temperature, e.TopP)));
        Assert.All(settings.Endpoints, e => Assert.Equal((6, "tiny-random"), (e.MaxTokens, e.Model)));
    }

    [Fact]
    public async Task Cancel_StopsTheRun_AndResume_RerunsOnlyErroredCells()
    {
        await using var server = await ScriptedOpenAiServer.StartAsync();
        for (var i = 0; i < 3; i++)
        {
            server.Then(ScriptedOpenAiServer.Status(400));
        }

        var config = Config($$"""
              - name: remote
                type: openai
                base-url: {{server.BaseUrl}}
                model: scripted
            """, messages: 8, casesPerCategory: 1, formats: "[csv]", repeats: 1);
        var started = await fixture.Client.StartRunAsync(config, cancellationToken: Token);
        var status = await WaitAsync(started.RunId, TimeSpan.FromMinutes(2));
        Assert.Equal(RunState.Completed, status.State);
        Assert.Equal(5, status.Total);
        Assert.Equal(3, status.Errors);
        Assert.Equal(2, status.Failed);
        var before = (await ResultsAsync(started.RunId)).ToDictionary(r => r.CellId);
        var calls = server.Requests.Count;

        await fixture.Client.ResumeRunAsync(started.RunId, Token);
        status = await WaitAsync(started.RunId, TimeSpan.FromMinutes(2));
        Assert.Equal(0, status.Errors);
        Assert.Equal(5, status.Failed);
        Assert.Equal(calls + 3, server.Requests.Count);
        var after = await ResultsAsync(started.RunId);
        Assert.Equal(5, after.Count);
        Assert.All(after.Where(r => before[r.CellId].Outcome != CellOutcome.Error), r => Assert.Equivalent(before[r.CellId], r, strict: true));

        var slow = Config("""
              - name: echo
                type: echo
            """, messages: 40, casesPerCategory: 200, formats: "[oneline-json, pretty-json, csv, yaml, toon]", repeats: 20);
        var big = await fixture.Client.StartRunAsync(slow, cancellationToken: Token);
        var cancelled = await fixture.Client.CancelRunAsync(big.RunId, Token);
        Assert.Equal(RunState.Cancelled, cancelled.State);
        Assert.True((await fixture.Client.GetRunAsync(big.RunId, Token)).Completed < big.Total);
    }

    [Fact]
    public async Task SiloKilledMidRun_TheRunCompletesOnTheSurvivors_WithOneResultPerCell()
    {
        await using var server = await ScriptedOpenAiServer.StartAsync();
        server.Default = ScriptedOpenAiServer.SlowCompletion("no idea", TimeSpan.FromMilliseconds(20));
        var config = Config($$"""
              - name: remote-a
                type: openai
                base-url: {{server.BaseUrl}}
                model: scripted
              - name: remote-b
                type: openai
                base-url: {{server.BaseUrl}}
                model: scripted
            """, messages: 30, casesPerCategory: 12, formats: "[csv, toon, yaml]", repeats: 2);
        var cluster = await KillableClusterAsync();
        var client = cluster.Client;
        var started = await client.StartRunAsync(config, cancellationToken: Token);
        await Poll.UntilAsync(async () => (await client.GetRunAsync(started.RunId, Token)).Completed >= started.Total * 2 / 5, TimeSpan.FromMinutes(2), "40% progress");
        await cluster.Cluster.KillSiloAsync(cluster.Cluster.Silos[^1], Token);

        RunStatus status = null!;
        await Poll.UntilAsync(async () => (status = await client.GetRunAsync(started.RunId, Token)).IsFinished, TimeSpan.FromMinutes(3), "the run to finish after the kill");
        Assert.Equal(RunState.Completed, status.State);
        var results = new List<CellResult>();
        await foreach (var result in client.GetResultsAsync(started.RunId, Token))
        {
            results.Add(result);
        }

        Assert.Equal(started.Total, results.Count);
        Assert.Equal(results.Count, results.Select(r => r.CellId).Distinct().Count());
        Assert.Equal(started.Total, status.Completed);
        Assert.Equal(results.Count(r => r.Outcome == CellOutcome.Failed), status.Failed);
        Assert.Equal(0, status.Errors);
    }

    // Its own cluster, so that killing a silo does not disturb the other tests.
    private async Task<EvalMeshTestCluster> KillableClusterAsync()
    {
        var cluster = new EvalMeshTestCluster(3, 2, null);
        await cluster.InitializeAsync();
        _disposables.Add(cluster);
        return cluster;
    }

    private readonly List<IAsyncDisposable> _disposables = [];

    public async ValueTask DisposeAsync()
    {
        foreach (var disposable in _disposables)
        {
            await disposable.DisposeAsync();
        }
    }

    [Fact]
    public async Task RetrievedContexts_EachQuestionIsGivenOnlyItsOwnRecords_AndTheReportSaysWhatTheyHeld()
    {
        var config = ConfigLoader.Parse("""
            datasets:
              - name: slack
                generate: { kind: slack, messages: 40, seed: 3, cases-per-category: 2 }
            suites:
              - name: retrieved
                dataset: slack
                generated: true
                context: { retrieve: bm25, k: 4 }
            formats: [csv, pretty-json]
            endpoints:
              - name: echo
                type: echo
            """, "/tmp/retrieved.yaml");
        var started = await fixture.Client.StartRunAsync(config, cancellationToken: Token);
        Assert.Equal(RunState.Completed, (await WaitAsync(started.RunId, TimeSpan.FromMinutes(2))).State);

        // An independent retrieval over the same data: the echo endpoint's answer is its prompt, so it shows the records.
        var data = Evaluation.Generation.SlackGenerator.Generate(config.Datasets[0].Generate!);
        using var retriever = new Evaluation.Retrieval.Bm25Retriever(data.Messages);
        var permalinks = data.Messages.Select(m => m["permalink"]!.GetValue<string>()).ToList();
        var cells = await ResultsAsync(started.RunId);
        Assert.Equal(data.Suite.Cases.Count * 2, cells.Count);
        foreach (var cell in cells)
        {
            var chosen = retriever.Retrieve(data.Suite.Cases.Single(c => c.Id == cell.CaseId).Question, 4);
            var shown = Enumerable.Range(1, permalinks.Count).Where(n => cell.Output.Contains(permalinks[n - 1], StringComparison.Ordinal)).ToList();
            Assert.All(chosen, n => Assert.Contains(n, shown));
            Assert.True(shown.Count <= chosen.Count + 4, $"{cell.CellId} shows {shown.Count} records' permalinks for {chosen.Count} chosen");
        }

        var report = await fixture.Client.GetReportAsync(started.RunId, Token);
        Assert.Contains(report.Notes, n => n.StartsWith("Retrieved contexts: each question of suite 'retrieved' was given its own records (bm25, k = 4)", StringComparison.Ordinal) && n.Contains("recall", StringComparison.Ordinal));
    }

    [Fact]
    public async Task UnknownRun_IsReportedAsSuch()
    {
        var ex = await Assert.ThrowsAsync<RunNotFoundException>(() => fixture.Client.GetRunAsync("no-such-run", Token));
        Assert.Equal("no-such-run", ex.RunId);
    }

    [Fact]
    public async Task Inference_IsRoutedToOneSilo_AndRegisteredAdaptersServe()
    {
        var first = await fixture.Client.InferAsync("tiny-random:adapter-2", "Which messages mention BigQuery?", new(MaxTokens: 5), Token);
        var second = await fixture.Client.InferAsync("tiny-random:adapter-2", "Which messages mention BigQuery?", new(MaxTokens: 5), Token);
        Assert.Equal(5, first.CompletionTokens);
        Assert.Equal(first.Text, second.Text);
        Assert.Equal(first.Route.Host, second.Route.Host);
        Assert.True(second.Route.AdapterWasResident);

        var registration = await fixture.Client.RegisterAdapterAsync("tiny-random", "mine", fixture.Tiny.Adapters[1], Token);
        Assert.True(registration.Rank > 0);
        Assert.Contains(await fixture.Client.ListAdaptersAsync(Token), a => a.Name == "mine");
        var mine = await fixture.Client.InferAsync("tiny-random:mine", "Which messages mention BigQuery?", new(MaxTokens: 5), Token);
        Assert.Equal(first.Text, mine.Text);

        var rejected = await Assert.ThrowsAsync<AdapterRejectedException>(() => fixture.Client.RegisterAdapterAsync("tiny-random", "bad", fixture.Tiny.Model, Token));
        Assert.Contains("not a LoRA adapter", rejected.Message);
    }
}
