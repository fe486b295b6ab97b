using EvalMesh.Testing;

using EvalMesh.Inference.Endpoints;
using Microsoft.Extensions.AI;

namespace EvalMesh.Inference.Tests;

public sealed class OpenAiChatClientTests : IAsyncLifetime
{
    private readonly HttpClient _http = new() { Timeout = Timeout.InfiniteTimeSpan };
    private ScriptedOpenAiServer _server = null!;

    public async ValueTask InitializeAsync() => _server = await ScriptedOpenAiServer.StartAsync();

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _http.Dispose();
    }

    private OpenAiChatClient Client(int retries = 3, double timeoutSeconds = 5) =>
        new(_http, new OpenAiEndpointOptions("scripted", _server.BaseUrl, "gpt-test", "sk-secret", TimeSpan.FromSeconds(timeoutSeconds), retries));

    private static Task<ChatResponse> Ask(IChatClient client) =>
        client.GetResponseAsync("What is 2+2?", new ChatOptions { MaxOutputTokens = 5, Temperature = 0, StopSequences = ["\n"] }, TestContext.Current.CancellationToken);

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
        Assert.True(times[1] - times[0] >= TimeSpan.FromMilliseconds(950), $"retried after {(times[1] - times[0]).TotalMilliseconds} ms, before Retry-After: 1");
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
        var ex = await Assert.ThrowsAsync<EndpointException>(() => Ask(Client(retries: 1, timeoutSeconds: 0.5)));
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
        var client = new OpenAiChatClient(_http, new OpenAiEndpointOptions("scripted", _server.BaseUrl, "gpt-test", MaxRetries: 0, BreakDuration: TimeSpan.FromSeconds(1)));
        for (var i = 0; i < 8; i++)
        {
            Assert.Equal(EndpointProblem.ServerError, (await Assert.ThrowsAsync<EndpointException>(() => Ask(client))).Problem);
        }

        // Eight server errors opened it: the next call waits out the break, sending nothing, then its attempt (the
        // probe) succeeds and closes the circuit.
        _server.Default = ScriptedOpenAiServer.Completion("back");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal("back", (await Ask(client)).Text);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(800), $"answered after {clock.Elapsed.TotalMilliseconds:0} ms, inside the 1 s break");
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
        var client = new OpenAiChatClient(_http, new OpenAiEndpointOptions("scripted", _server.BaseUrl, "gpt-test", MaxRetries: 8, BreakDuration: TimeSpan.FromSeconds(1)));
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
        var client = new OpenAiChatClient(_http, new OpenAiEndpointOptions("scripted", _server.BaseUrl, "gpt-test", MaxRetries: 4, MaxConcurrency: 8));
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
        var client = new OpenAiChatClient(_http, new OpenAiEndpointOptions("nowhere", new Uri("http://127.0.0.1:9/v1"), "m", MaxRetries: 1));
        var ex = await Assert.ThrowsAsync<EndpointException>(() => Ask(client));
        Assert.Equal(EndpointProblem.Unreachable, ex.Problem);
    }
}
