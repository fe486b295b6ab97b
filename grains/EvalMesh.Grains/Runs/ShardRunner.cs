using System.Diagnostics;
using System.Threading.Channels;
using EvalMesh.Abstractions;
using EvalMesh.Client;
using EvalMesh.Evaluation.Configuration;
using EvalMesh.Evaluation.Scoring;
using EvalMesh.Evaluation.Suites;
using EvalMesh.Evaluation.Tokenization;
using EvalMesh.Grains.Endpoints;
using EvalMesh.Grains.Storage;
using EvalMesh.Inference.Endpoints;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace EvalMesh.Grains.Runs;

/// <summary>
/// Runs one shard's cells on the thread pool: renders each prompt from the cached context, counts its tokens, asks the
/// endpoint, scores the answer, and streams results to the store in batches. Progress counts only stored cells and is
/// reported cumulatively, so a shard restarted after a silo's death neither loses nor double-counts a cell.
/// </summary>
public sealed partial class ShardRunner : IDisposable
{
    private const int BatchSize = 256;
    private static readonly TimeSpan ReportEvery = TimeSpan.FromMilliseconds(500);

    private readonly ShardSpec _spec;
    private readonly bool _retryErrors;
    private readonly ShardServices _services;
    private readonly CancellationTokenSource _cancellation = new();
    private readonly Lock _gate = new();
    private readonly Dictionary<string, MatrixAggregate> _aggregates = new(StringComparer.Ordinal);
    private int _completed;
    private bool _done;
    private string? _problem;
    private Task _task = Task.CompletedTask;

    private ShardRunner(ShardSpec spec, bool retryErrors, ShardServices services)
    {
        _spec = spec;
        _retryErrors = retryErrors;
        _services = services;
    }

    /// <summary>Whether the runner is still working.</summary>
    public bool IsRunning => !_task.IsCompleted;

    /// <summary>The shard's cumulative progress.</summary>
    public ShardProgress Progress
    {
        get
        {
            lock (_gate)
            {
                return new ShardProgress(_spec.CellCount, _completed, _done, [.. _aggregates.Values], _services.Silo, _problem);
            }
        }
    }

    /// <summary>Starts running a shard.</summary>
    public static ShardRunner Start(ShardSpec spec, bool retryErrors, ShardServices services)
    {
        var runner = new ShardRunner(spec, retryErrors, services);
        runner._task = Task.Run(runner.RunAsync);
        return runner;
    }

    /// <summary>Stops the runner; stored results stay.</summary>
    public void Cancel() => _cancellation.Cancel();

    /// <inheritdoc />
    public void Dispose()
    {
        _cancellation.Cancel();
        _cancellation.Dispose();
    }

    private async Task RunAsync()
    {
        var token = _cancellation.Token;
        try
        {
            var cases = await _services.Inputs.CasesAsync(_spec.Suite.SuiteId).ConfigureAwait(false);
            var stored = new HashSet<string>(StringComparer.Ordinal);
            await foreach (var result in _services.Store.ReadShardAsync(_spec.RunId, _spec.ShardNo, token).ConfigureAwait(false))
            {
                if (result.Outcome != CellOutcome.Error || !_retryErrors)
                {
                    stored.Add(result.CellId);
                    Count(result);
                }
            }

            var todo = Cells(cases).Where(c => !stored.Contains(c.CellId)).ToList();
            if (todo.Count > 0)
            {
                await RunCellsAsync(todo, cases, token).ConfigureAwait(false);
            }

            lock (_gate)
            {
                _done = true;
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            LogShardFailed(_services.Logger, ex, _spec.Key);
            lock (_gate)
            {
                _problem = ErrorText(ex);
            }
        }
        finally
        {
            await ReportAsync(final: true).ConfigureAwait(false);
        }
    }

    private sealed record Cell(string CellId, int CaseIndex, string Format, int Repeat);

    // Format-major order: every question over one rendering runs together, so a llama endpoint reuses its prefix.
    private IEnumerable<Cell> Cells(IReadOnlyList<TestCase> cases)
    {
        foreach (var format in _spec.Run.Formats)
        {
            for (var i = _spec.Plan.CaseStart; i < _spec.Plan.CaseEnd; i++)
            {
                for (var repeat = 1; repeat <= _spec.Run.Repeats; repeat++)
                {
                    yield return new Cell(ShardSpec.CellId(_spec.Suite.Name, cases[i].Id, format, _spec.Endpoint.Name, repeat), i, format, repeat);
                }
            }
        }
    }

    private async Task RunCellsAsync(List<Cell> cells, IReadOnlyList<TestCase> cases, CancellationToken token)
    {
        var client = _services.Endpoints.Get(_spec.Endpoint, _spec.Run.Adapters);
        var judge = _spec.Run.Judge is { } judgeEndpoint ? _services.Endpoints.Get(judgeEndpoint, _spec.Run.Adapters) : null;
        var scorers = cases.Select(c => c.Scorer).Distinct().ToDictionary(s => s, s => ScorerFactory.Create(s, judge));
        var tokenizers = _spec.Run.Tokenizers.Select(_services.Tokenizers.Get).ToList();
        using var model = _services.Models.Open(_spec.Endpoint);
        var templates = new Dictionary<string, PromptTemplate>(StringComparer.Ordinal);
        foreach (var format in _spec.Run.Formats)
        {
            templates[format] = await _services.Inputs.TemplateAsync(_spec.Run.Prompt, _spec.Suite.DatasetId, format, PerQuestion).ConfigureAwait(false);
        }

        EvalMetrics.Starting(_spec.Run.Formats, _spec.Endpoint.Name, _spec.Run.Tokenizers);
        var results = Channel.CreateBounded<CellResult>(new BoundedChannelOptions(BatchSize * 4) { SingleReader = true });
        var writer = Task.Run(() => WriteAsync(results.Reader, token), token);
        var parallelism = Math.Max(1, Math.Min(_spec.Run.Concurrency, _spec.Endpoint.MaxConcurrency));
        try
        {
            await Parallel.ForEachAsync(cells, new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = token }, async (cell, ct) =>
            {
                var testCase = cases[cell.CaseIndex];
                var result = await RunCellAsync(cell, testCase, templates[cell.Format], client, scorers[testCase.Scorer], tokenizers, model, ct).ConfigureAwait(false);
                await results.Writer.WriteAsync(result, ct).ConfigureAwait(false);
            }).ConfigureAwait(false);
        }
        finally
        {
            results.Writer.TryComplete();
            await writer.ConfigureAwait(false);
        }
    }

    private async Task<CellResult> RunCellAsync(Cell cell, TestCase testCase, PromptTemplate template, IChatClient client, IScorer scorer, IReadOnlyList<ITokenCounter> tokenizers, IModelContext? model, CancellationToken token)
    {
        var endpoint = _spec.Endpoint;
        var prompt = template.For(testCase.Question, PerQuestion ? await _services.Inputs.ContextAsync(_spec.Suite.DatasetId, cell.Format, testCase.Records).ConfigureAwait(false) : null);
        var system = _spec.Run.System;
        var tokens = new Dictionary<string, int>(tokenizers.Count + 1, StringComparer.Ordinal);
        foreach (var tokenizer in tokenizers)
        {
            tokens[tokenizer.Name] = tokenizer.CountTokens(prompt.Head, prompt.Tail) + (system is null ? 0 : tokenizer.CountTokens(system));
        }

        // A shared context is declared, so that it is decoded once; a question's own context is cached only where
        // another prompt starts the same way (its repeats).
        var sharedPrefix = PerQuestion ? 0 : prompt.Head.Length;
        List<ChatMessage> messages = system is null ? [new(ChatRole.User, prompt.Text)] : [new(ChatRole.System, system), new(ChatRole.User, prompt.Text)];

        var options = new ChatOptions
        {
            MaxOutputTokens = endpoint.MaxTokens,
            Temperature = (float)endpoint.Temperature,
            TopP = endpoint.TopP < 1 ? (float)endpoint.TopP : null,
            Seed = cell.Repeat,
            AdditionalProperties = new AdditionalPropertiesDictionary { [ModelHostChat.PrefixLengthKey] = sharedPrefix },
        };
        var started = Stopwatch.GetTimestamp();
        ChatResponse response;
        try
        {
            if (model is not null)
            {
                tokens[NativeTokenizer] = model.CountPrompt(system, prompt.Text, endpoint.ChatTemplate, sharedPrefix);
            }

            using var inFlight = EndpointMetrics.Track(endpoint.Name);
            response = await client.GetResponseAsync(messages, options, token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !token.IsCancellationRequested)
        {
            return Result(cell, testCase, prompt, CellOutcome.Error, 0, ErrorText(ex), string.Empty, tokens, null, Stopwatch.GetElapsedTime(started).TotalMilliseconds, null);
        }

        var latency = CachedEndpointClient.LatencyOf(response) ?? Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        if (model is null && response.Usage?.InputTokenCount is { } native)
        {
            tokens[NativeTokenizer] = (int)native;
        }

        var silo = response.AdditionalProperties?.TryGetValue(ModelHostChat.HostKey, out var where) == true ? where?.ToString() : _services.Silo;
        try
        {
            var score = await scorer.ScoreAsync(new ScoreRequest(testCase.Question, response.Text, testCase.Expected), token).ConfigureAwait(false);
            var outcome = score.Passed ? CellOutcome.Passed : CellOutcome.Failed;
            return Result(cell, testCase, prompt, outcome, score.Score, score.Reason, response.Text, tokens, (int?)response.Usage?.OutputTokenCount, latency, silo);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !token.IsCancellationRequested)
        {
            return Result(cell, testCase, prompt, CellOutcome.Error, 0, "scoring failed: " + ErrorText(ex), response.Text, tokens, (int?)response.Usage?.OutputTokenCount, latency, silo);
        }
    }

    // Whether the suite's questions each have their own records as context, rather than the whole dataset.
    private bool PerQuestion => _spec.Suite.Context is not null;

    /// <summary>
    /// The key under which a cell records its prompt tokens in the endpoint's own vocabulary: counted before the prompt is
    /// sent where the model is at hand (llama endpoints), so that a cell that errors has it too; otherwise as the
    /// endpoint reported them.
    /// </summary>
    public const string NativeTokenizer = "native";

    private CellResult Result(Cell cell, TestCase testCase, Prompt prompt, CellOutcome outcome, double score, string reason, string output, Dictionary<string, int> tokens, int? completion, double latency, string? silo) =>
        new(cell.CellId, _spec.Suite.Name, testCase.Id, cell.Format, _spec.Endpoint.Name, cell.Repeat, testCase.Tags, outcome, score, reason, output, testCase.Expected, tokens, completion, latency, silo, prompt.Tail, testCase.Scorer.Type);

    private static string ErrorText(Exception ex) => ex is AggregateException { InnerException: { } inner } ? ErrorText(inner) : $"{ex.GetType().Name}: {ex.Message}";

    private async Task WriteAsync(ChannelReader<CellResult> reader, CancellationToken token)
    {
        var batch = new List<CellResult>(BatchSize);
        var lastReport = Stopwatch.GetTimestamp();
        while (await reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
        {
            while (batch.Count < BatchSize && reader.TryRead(out var result))
            {
                batch.Add(result);
            }

            await _services.Store.WriteAsync(_spec.RunId, _spec.ShardNo, batch, token).ConfigureAwait(false);
            foreach (var result in batch)
            {
                Count(result);
                EvalMetrics.Stored(result);
            }

            batch.Clear();
            if (Stopwatch.GetElapsedTime(lastReport) >= ReportEvery)
            {
                lastReport = Stopwatch.GetTimestamp();
                await ReportAsync(final: false).ConfigureAwait(false);
            }
        }
    }

    private void Count(CellResult result)
    {
        lock (_gate)
        {
            var key = $"{result.Suite}\u0001{result.Format}\u0001{result.Endpoint}";
            var aggregate = _aggregates.GetValueOrDefault(key) ?? MatrixAggregate.Empty(result.Suite, result.Format, result.Endpoint);
            _aggregates[key] = aggregate.Add(result);
            _completed++;
        }
    }

    private async Task ReportAsync(bool final)
    {
        var run = _services.Grains.GetRun(_spec.RunId);
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await run.ReportShardAsync(_spec.ShardNo, Progress).ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (final && attempt < 5)
            {
                LogReportRetry(_services.Logger, ex, _spec.Key);
                await Task.Delay(TimeSpan.FromSeconds(1 << attempt)).ConfigureAwait(false);
            }
            catch (Exception ex) when (!final)
            {
                // The run grain polls shards too, so a lost progress report only delays the numbers.
                LogReportRetry(_services.Logger, ex, _spec.Key);
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Shard {Shard} stopped")]
    private static partial void LogShardFailed(ILogger logger, Exception exception, string shard);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shard {Shard} could not report progress")]
    private static partial void LogReportRetry(ILogger logger, Exception exception, string shard);
}

/// <summary>What shard runners need from their silo.</summary>
/// <param name="Grains">The grain factory.</param>
/// <param name="Store">The result store.</param>
/// <param name="Inputs">Cached contexts and cases.</param>
/// <param name="Endpoints">Endpoint clients.</param>
/// <param name="Tokenizers">Tokenizers.</param>
/// <param name="Models">The models of llama endpoints, to count a prompt in the model's own vocabulary before it is sent.</param>
/// <param name="Silo">This silo's address.</param>
/// <param name="Logger">Where failures are logged.</param>
public sealed record ShardServices(IGrainFactory Grains, IResultStore Store, RunInputs Inputs, EndpointClients Endpoints, TokenizerRegistry Tokenizers, IModelContexts Models, string Silo, ILogger<ShardRunner> Logger);
