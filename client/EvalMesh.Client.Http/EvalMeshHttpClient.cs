using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using EvalMesh.Abstractions;
using EvalMesh.Evaluation;
using EvalMesh.Evaluation.Configuration;

namespace EvalMesh.Client;

/// <summary>
/// <see cref="IEvalMeshClient"/> over a silo's REST API. A run is prepared here as the Orleans flavour prepares it
/// (<see cref="RunSpecBuilder"/>: this machine's files, generators and inline cases), what the silos lack is uploaded
/// (<c>HEAD</c>, then <c>PUT /api/datasets|suites/{id}</c>), and the config is sent naming those uploads. Progress
/// comes as server-sent events (<c>GET /api/runs/{id}/events</c>): one request per watch, pushed as the run moves,
/// reconnected if it breaks off. Results are read line by line as they arrive.
/// </summary>
internal sealed class EvalMeshHttpClient : IEvalMeshClient
{
    // How long a broken progress stream waits before it reconnects.
    private static readonly TimeSpan Reconnect = TimeSpan.FromMilliseconds(250);

    private readonly RestTransport _rest;
    private readonly HttpRunInputStore _inputs;
    private readonly GatewayInference _inference;

    public EvalMeshHttpClient(HttpClient http, EvalMeshHttpClientOptions options, TimeProvider time)
    {
        _rest = new RestTransport(http, options, time);
        _inputs = new HttpRunInputStore(_rest);
        _inference = new GatewayInference(_rest);
    }

    public async Task<RunStatus> StartRunAsync(EvalConfig config, string? runId = null, CancellationToken cancellationToken = default)
    {
        var prepared = await RunSpecBuilder.PrepareAsync(config, _inputs, cancellationToken: cancellationToken).ConfigureAwait(false);
        await prepared.UploadMissingAsync(_inputs, cancellationToken).ConfigureAwait(false);
        using var body = new StringContent(SentConfig.Write(config, prepared), Encoding.UTF8, "application/json");
        var query = runId is null ? string.Empty : $"?runId={Uri.EscapeDataString(runId)}";
        var started = await _rest.SendAsync<JsonElement>(HttpMethod.Post, $"api/runs{query}", body, cancellationToken).ConfigureAwait(false);
        return await GetRunAsync(started.GetProperty("id").GetString()!, cancellationToken).ConfigureAwait(false);
    }

    public Task<RunStatus> StartRunAsync(RunSpec spec, string runId, CancellationToken cancellationToken = default) =>
        _rest.SendAsync<RunStatus>(HttpMethod.Put, Run(runId), JsonContent.Create(spec, options: RestTransport.Json), cancellationToken);

    public Task<RunSpec> GetRunSpecAsync(string runId, CancellationToken cancellationToken = default) =>
        _rest.SendAsync<RunSpec>(HttpMethod.Get, $"{Run(runId)}/spec", null, cancellationToken);

    public Task<RunStatus> GetRunAsync(string runId, CancellationToken cancellationToken = default) =>
        _rest.SendAsync<RunStatus>(HttpMethod.Get, Run(runId), null, cancellationToken);

    public async Task<IReadOnlyList<RunStatus>> ListRunsAsync(CancellationToken cancellationToken = default) =>
        await _rest.SendAsync<List<RunStatus>>(HttpMethod.Get, "api/runs", null, cancellationToken).ConfigureAwait(false);

    public async IAsyncEnumerable<RunStatus> WatchRunAsync(string runId, TimeSpan? interval = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var every = (int)Math.Clamp((interval ?? TimeSpan.FromMilliseconds(100)).TotalMilliseconds, 50, 60_000);
        var time = _rest.Time;
        long? brokenSince = null;
        while (true)
        {
            HttpResponseMessage response;
            try
            {
                response = await _rest.SendAsync(HttpMethod.Get, $"{Run(runId)}/events?intervalMs={every}", null, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            }
            catch (HttpRequestException) when (time.GetElapsedTime(brokenSince ??= time.GetTimestamp()) < _rest.Options.RetryWindow)
            {
                await Task.Delay(Reconnect, time, cancellationToken).ConfigureAwait(false);
                continue;
            }

            using (response)
            {
                var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
                var events = SseParser.Create(stream, (type, data) => type == "status" ? JsonSerializer.Deserialize<RunStatus>(data, RestTransport.Json) : null)
                    .EnumerateAsync(cancellationToken)
                    .GetAsyncEnumerator(cancellationToken);
                await using (events.ConfigureAwait(false))
                {
                    while (await NextAsync(events).ConfigureAwait(false))
                    {
                        if (events.Current.Data is { } status)
                        {
                            brokenSince = null;
                            yield return status;
                            if (status.IsFinished)
                            {
                                yield break;
                            }
                        }
                    }
                }
            }

            // The stream ended before the run did (the silo or a proxy closed it): reconnect, for as long as the window allows.
            if (time.GetElapsedTime(brokenSince ??= time.GetTimestamp()) >= _rest.Options.RetryWindow)
            {
                throw new HttpRequestException($"the progress stream of run '{runId}' kept breaking off for {_rest.Options.RetryWindow.TotalSeconds:0} s");
            }

            await Task.Delay(Reconnect, time, cancellationToken).ConfigureAwait(false);
        }

        // A connection that breaks mid-stream ends this stream; the loop above reconnects.
        async Task<bool> NextAsync(IAsyncEnumerator<SseItem<RunStatus?>> events)
        {
            try
            {
                return await events.MoveNextAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or HttpRequestException && !cancellationToken.IsCancellationRequested)
            {
                return false;
            }
        }
    }

    public Task<RunReport> GetReportAsync(string runId, CancellationToken cancellationToken = default) =>
        _rest.SendAsync<RunReport>(HttpMethod.Get, $"{Run(runId)}/report", null, cancellationToken);

    public async IAsyncEnumerable<CellResult> GetResultsAsync(string runId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var response = await _rest.SendAsync(HttpMethod.Get, $"{Run(runId)}/results", null, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), Encoding.UTF8);
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            if (line.Length > 0)
            {
                yield return JsonSerializer.Deserialize<CellResult>(line, RestTransport.Json)!;
            }
        }
    }

    public async Task<IReadOnlyList<PromptHead>> GetPromptHeadsAsync(string runId, CancellationToken cancellationToken = default) =>
        await _rest.SendAsync<List<PromptHead>>(HttpMethod.Get, $"{Run(runId)}/prompts", null, cancellationToken).ConfigureAwait(false);

    public async Task<IReadOnlyList<ComparisonRow>> CompareRunsAsync(string baseline, string candidate, double alpha = 0.05, CancellationToken cancellationToken = default) =>
        await _rest.SendAsync<List<ComparisonRow>>(HttpMethod.Get, FormattableString.Invariant($"{Run(candidate)}/compare/{Uri.EscapeDataString(baseline)}?alpha={alpha}"), null, cancellationToken).ConfigureAwait(false);

    public Task<RunStatus> CancelRunAsync(string runId, CancellationToken cancellationToken = default) =>
        _rest.SendAsync<RunStatus>(HttpMethod.Delete, Run(runId), null, cancellationToken);

    public Task<RunStatus> ResumeRunAsync(string runId, CancellationToken cancellationToken = default) =>
        _rest.SendAsync<RunStatus>(HttpMethod.Post, $"{Run(runId)}/resume", null, cancellationToken);

    public Task<AdapterRegistration> RegisterAdapterAsync(string model, string name, string path, CancellationToken cancellationToken = default) =>
        _rest.SendAsync<AdapterRegistration>(HttpMethod.Post, "api/adapters", JsonContent.Create(new { model, name, path }), cancellationToken);

    public Task<TrainingStatus> StartTrainingAsync(string jobId, TrainingRequest request, CancellationToken cancellationToken = default) =>
        _rest.SendAsync<TrainingStatus>(HttpMethod.Put, Training(jobId), JsonContent.Create(request, options: RestTransport.Json), cancellationToken);

    public Task<TrainingStatus> GetTrainingAsync(string jobId, CancellationToken cancellationToken = default) =>
        _rest.SendAsync<TrainingStatus>(HttpMethod.Get, Training(jobId), null, cancellationToken);

    public async Task<IReadOnlyList<AdapterRegistration>> ListAdaptersAsync(CancellationToken cancellationToken = default) =>
        await _rest.SendAsync<List<AdapterRegistration>>(HttpMethod.Get, "api/adapters", null, cancellationToken).ConfigureAwait(false);

    public Task<InferenceReply> InferAsync(string model, string prompt, GenerationOptions? options = null, CancellationToken cancellationToken = default) =>
        _inference.StreamAsync(model, prompt, options ?? GenerationOptions.Greedy, stream: false, cancellationToken).ReplyAsync();

    public IAsyncEnumerable<InferenceChunk> StreamInferenceAsync(string model, string prompt, GenerationOptions? options = null, CancellationToken cancellationToken = default) =>
        _inference.StreamAsync(model, prompt, options ?? GenerationOptions.Greedy, stream: true, cancellationToken);

    public Task<DirectorySnapshot> GetResidencyAsync(CancellationToken cancellationToken = default) =>
        _rest.SendAsync<DirectorySnapshot>(HttpMethod.Get, "api/adapters/residency", null, cancellationToken);

    public async Task<IReadOnlyList<string>> EvictAdapterAsync(string model, CancellationToken cancellationToken = default)
    {
        var (baseModel, adapter) = AdapterKey.Parse(AdapterKey.FromModelName(model));
        if (adapter is null)
        {
            throw new EvalMeshInputException($"'{model}' names no adapter: give MODEL:ADAPTER, such as tiny:adapter-1");
        }

        var evicted = await _rest.SendAsync<JsonElement>(HttpMethod.Post, $"api/adapters/{Uri.EscapeDataString(baseModel)}/{Uri.EscapeDataString(adapter)}/evict", null, cancellationToken).ConfigureAwait(false);
        return [.. evicted.GetProperty("evictedFrom").EnumerateArray().Select(s => s.GetString()!)];
    }

    private static string Run(string runId) => $"api/runs/{Uri.EscapeDataString(runId)}";

    private static string Training(string jobId) => $"api/training/{Uri.EscapeDataString(jobId)}";
}
