using EvalMesh.Testing;

using EvalMesh.Inference.Endpoints;
using Microsoft.Extensions.AI;

namespace EvalMesh.Inference.Tests;

/// <summary>
/// The OpenAI-compatible client against a scripted server on loopback, on a fake clock: backoffs, Retry-After waits,
/// circuit breaks and attempt timeouts pass when the test moves the clock, and the server stamps requests with it, so
/// that what is measured is the client's waiting, not the machine's speed.
/// </summary>
public sealed class OpenAiChatClientTests : IAsyncLifetime
{
    // Attempts time out after this long unless a test says otherwise; every wait the client makes is shorter.
    private static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(5);
    private readonly HttpClient _http = new() { Timeout = Timeout.InfiniteTimeSpan };
    private readonly FakeClock _clock = new();
    private ScriptedOpenAiServer _server = null!;

    public async ValueTask InitializeAsync() => _server = await ScriptedOpenAiServer.StartAsync(_clock);

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _http.Dispose();
    }

    private OpenAiChatClient Client(int retries = 3, double? timeoutSeconds = null) =>
        Client(new OpenAiEndpointOptions("scripted", _server.BaseUrl, "gpt-test", "sk-secret", timeoutSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : AttemptTimeout, retries));

    private OpenAiChatClient Client(OpenAiEndpointOptions options) => new(_http, options, _clock);

    private static Task<ChatResponse> Send(IChatClient client) =>
        client.GetResponseAsync("What is 2+2?", new ChatOptions { MaxOutputTokens = 5, Temperature = 0, StopSequences = ["\n"] }, TestContext.Current.CancellationToken);

    // Asks, moving the clock on through every wait the client makes (never as far as an attempt's timeout).
    private Task<ChatResponse> Ask(IChatClient client) => _clock.RunAsync(Send(client), AttemptTimeout);

    [Fact]
    public async Task Success_ReturnsTheAnswerAndUsage_AndSendsTheWireFormat()
    {
        _server.Then(ScriptedOpenAiServer.Completion("4"));
        var response = await Ask(Client());
        Assert.Equal("4", response.Text);
        Assert.Equal(11, response.Usage!.InputTokenCount);
        Assert.Equal(3, response.Usage.OutputTokenCount);
        var (_, body, authorization) = Assert.Single(_server.Requests);
        Assert.Equal("gpt-test", body["model"]!.GetValue<string>());
        Assert.Equal("What is 2+2?", body["messages"]![0]!["content"]!.GetValue<string>());
        Assert.Equal(5, body["max_tokens"]!.GetValue<int>());
        Assert.Equal("Bearer sk-secret", authorization);
    }

    [Fact]
    public async Task RateLimited_WaitsForRetryAfter_ThenSucceeds()
    {
        _server.Then(ScriptedOpenAiServer.Status(429, retryAfter: "1")).Then(ScriptedOpenAiServer.Completion("4"));
        var response = await Ask(Client());
        Assert.Equal("4", response.Text);
        var times = _server.Requests.Select(r => r.At).ToList();
        Assert.Equal(2, times.Count);
        Assert.True(times[1] - times[0] >= TimeSpan.FromSeconds(1), $"retried after {(times[1] - times[0]).TotalMilliseconds} ms, before Retry-After: 1");
    }

    [Fact]
    public async Task ServerErrorThenSuccess_IsRetried()
    {
        _server.Then(ScriptedOpenAiServer.Status(500)).Then(ScriptedOpenAiServer.Status(503)).Then(ScriptedOpenAiServer.Completion("4"));
        Assert.Equal("4", (await Ask(Client())).Text);
        Assert.Equal(3, _server.Requests.Count);
    }

    [Fact]
    public async Task PersistentServerErrors_BecomeAnEndpointError_NotAnAnswer()
    {
        for (var i = 0; i < 3; i++)
        {
            _server.Then(ScriptedOpenAiServer.Status(500));
        }

        var ex = await Assert.ThrowsAsync<EndpointException>(() => Ask(Client(retries: 2)));
        Assert.Equal(EndpointProblem.ServerError, ex.Problem);
        Assert.Equal(3, ex.Attempts);
        Assert.DoesNotContain("sk-secret", ex.Message);
    }

    [Fact]
    public async Task Hang_TimesOutEachAttempt()
    {
        _server.Then(ScriptedOpenAiServer.Hang(TimeSpan.FromSeconds(30))).Then(ScriptedOpenAiServer.Hang(TimeSpan.FromSeconds(30)));
        var call = Send(Client(retries: 1, timeoutSeconds: 0.5));

        // Each attempt reaches the hanging server, then its half second passes; between them, the backoff (Polly's first
        // is under 0.35 s, so "shorter than 0.5 s" picks it and not the next attempt's timeout).
        for (var attempt = 1; attempt <= 2; attempt++)
        {
            await Poll.UntilAsync(() => Task.FromResult(_server.Requests.Count == attempt), TimeSpan.FromSeconds(30), $"attempt {attempt} to reach the server");
            await _clock.AdvanceToNextAsync(TimeSpan.FromSeconds(1), $"attempt {attempt}'s timeout");
            if (attempt == 1)
            {
                await _clock.AdvanceToNextAsync(TimeSpan.FromSeconds(0.5), "the backoff");
            }
        }

        var ex = await Assert.ThrowsAsync<EndpointException>(() => call);
        Assert.Equal(EndpointProblem.Timeout, ex.Problem);
        Assert.Equal(2, ex.Attempts);
    }

    [Fact]
    public async Task MalformedJson_IsRetried_ThenReportedAsBadResponse()
    {
        _server.Then(ScriptedOpenAiServer.Body("{not json")).Then(ScriptedOpenAiServer.Body("""{"choices":[]}"""));
        var ex = await Assert.ThrowsAsync<EndpointException>(() => Ask(Client(retries: 1)));
        Assert.Equal(EndpointProblem.BadResponse, ex.Problem);

        _server.Then(ScriptedOpenAiServer.Body("{not json")).Then(ScriptedOpenAiServer.Completion("recovered"));
        Assert.Equal("recovered", (await Ask(Client(retries: 1))).Text);
    }

    [Fact]
    public async Task DroppedConnection_IsRetried()
    {
        _server.Then(ScriptedOpenAiServer.DropMidBody()).Then(ScriptedOpenAiServer.Completion("4"));
        Assert.Equal("4", (await Ask(Client())).Text);
    }

    [Fact]
    public async Task RepeatedFailures_OpenTheCircuit_CallsWaitItOutWithoutLoad_ThenItRecovers()
    {
        _server.Default = ScriptedOpenAiServer.Status(500);
        var client = Client(new OpenAiEndpointOptions("scripted", _server.BaseUrl, "gpt-test", MaxRetries: 0, BreakDuration: TimeSpan.FromSeconds(1)));
        for (var i = 0; i < 8; i++)
        {
            Assert.Equal(EndpointProblem.ServerError, (await Assert.ThrowsAsync<EndpointException>(() => Ask(client))).Problem);
        }

        // Eight server errors opened it: the next call waits out the break, sending nothing, then its attempt (the
        // probe) succeeds and closes the circuit.
        _server.Default = ScriptedOpenAiServer.Completion("back");
        var start = _clock.GetUtcNow();
        Assert.Equal("back", (await Ask(client)).Text);
        var waited = _clock.GetUtcNow() - start;
        Assert.True(waited >= TimeSpan.FromSeconds(1), $"answered after {waited.TotalMilliseconds:0} ms, inside the 1 s break");
        Assert.Equal(9, _server.Requests.Count);
        Assert.Equal("back", (await Ask(client)).Text);
        Assert.Equal(10, _server.Requests.Count);
    }

    [Fact]
    public async Task WaitingOutAnOpenCircuit_UsesNoRetries()
    {
        for (var i = 0; i < 8; i++)
        {
            _server.Then(ScriptedOpenAiServer.Status(503, retryAfter: "0"));
        }

        // Eight attempts fail and open the circuit; the ninth, after the break, is within a budget of eight retries.
        var client = Client(new OpenAiEndpointOptions("scripted", _server.BaseUrl, "gpt-test", MaxRetries: 8, BreakDuration: TimeSpan.FromSeconds(1)));
        Assert.Equal("default answer", (await Ask(client)).Text);
        Assert.Equal(9, _server.Requests.Count);
    }

    [Fact]
    public async Task RateLimits_HalveTheConcurrency_WhichGrowsBackWithSuccesses()
    {
        var inFlight = 0;
        var most = 0;
        var rateLimited = 0;
        _server.Default = async context =>
        {
            var now = Interlocked.Increment(ref inFlight);
            InterlockedMax(ref most, now);
            try
            {
                if (Interlocked.Increment(ref rateLimited) <= 4)
                {
                    await ScriptedOpenAiServer.Status(429, retryAfter: "0")(context);
                    return;
                }

                await ScriptedOpenAiServer.SlowCompletion("ok", TimeSpan.FromMilliseconds(20))(context);
            }
            finally
            {
                Interlocked.Decrement(ref inFlight);
            }
        };
        // The 429s ask for no wait (Retry-After: 0): the clock stands still, so the burst falls within one 1 s cooldown
        // however slow the machine.
        var client = Client(new OpenAiEndpointOptions("scripted", _server.BaseUrl, "gpt-test", MaxRetries: 4, MaxConcurrency: 8));
        Assert.Equal(8, client.ConcurrencyLimit);

        var answers = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Ask(client)));

        // The burst of 429s halved the limit once (to 4); successes have regrown it by 1/limit each since.
        Assert.All(answers, a => Assert.Equal("ok", a.Text));
        Assert.InRange(most, 1, 8);
        Assert.InRange(client.ConcurrencyLimit, 4, 7);

        // From 4 back to 8 takes 4 + 5 + 6 + 7 = 22 successes.
        await Task.WhenAll(Enumerable.Range(0, 30).Select(_ => Ask(client)));
        Assert.Equal(8, client.ConcurrencyLimit);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        for (var seen = Volatile.Read(ref target); value > seen; seen = Volatile.Read(ref target))
        {
            if (Interlocked.CompareExchange(ref target, value, seen) == seen)
            {
                return;
            }
        }
    }

    [Fact]
    public async Task Rejected_IsNotRetried()
    {
        _server.Then(ScriptedOpenAiServer.Status(400));
        var ex = await Assert.ThrowsAsync<EndpointException>(() => Ask(Client()));
        Assert.Equal(EndpointProblem.Rejected, ex.Problem);
        Assert.Single(_server.Requests);
    }

    [Fact]
    public async Task Unreachable_IsAnEndpointError()
    {
        var client = Client(new OpenAiEndpointOptions("nowhere", new Uri("http://127.0.0.1:9/v1"), "m", MaxRetries: 1));
        var ex = await Assert.ThrowsAsync<EndpointException>(() => Ask(client));
        Assert.Equal(EndpointProblem.Unreachable, ex.Problem);
    }
}
