using System.CommandLine;
using System.Net;
using System.Net.Sockets;
using EvalMesh.Client;
using EvalMesh.Evaluation;
using EvalMesh.Grains;
using EvalMesh.Grains.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EvalMesh.Cli;

/// <summary>
/// The options every cluster verb shares. Without <c>--cluster</c> or <c>--server</c> the verb hosts a single silo in
/// this process (localhost clustering, files under the data directory, no Redis); with <c>--cluster redis</c> it
/// connects to a cluster as an Orleans client; with <c>--server URL</c> it talks to a silo's REST API over HTTP (the
/// SDK's HTTP flavour), which is all a machine outside the cluster can reach.
/// </summary>
internal sealed class ClusterArguments
{
    /// <summary>The environment variable the API key is read from when <c>--api-key-env</c> names none.</summary>
    public const string DefaultApiKeyVariable = "EVALMESH_API_KEY";

    private readonly Option<string?> _server = new("--server") { Description = "A silo's (or its load balancer's) URL, such as https://evalmesh.example.com: use the REST API over HTTP instead of joining the cluster; a run's local files are uploaded." };
    private readonly Option<string?> _apiKeyEnv = new("--api-key-env") { Description = $"With --server: the environment variable that holds the API key (default {DefaultApiKeyVariable}, when set)." };
    private readonly Option<string?> _cluster = new("--cluster") { Description = "'redis' to connect to a cluster; absent: run an embedded single silo in this process." };
    private readonly Option<string?> _redis = new("--redis") { Description = "With --cluster redis: the Redis address, such as 127.0.0.1:6379." };
    private readonly Option<string> _clusterId = new("--cluster-id") { Description = "The cluster id the silos use.", DefaultValueFactory = _ => "evalmesh" };
    private readonly Option<string> _serviceId = new("--service-id") { Description = "The service id the silos use.", DefaultValueFactory = _ => "evalmesh" };
    private readonly Option<string?> _dataDir = new("--data-dir") { Description = "Where the embedded silo keeps runs and results, and where logs/cli.log is written (default $EVALMESH_HOME or the user's data folder)." };
    private readonly Option<string?> _tls = new("--tls-certificate") { Description = "With --cluster redis: the cluster's certificate (PKCS#12) when the silos require mutual TLS; its password comes from EVALMESH_TLS_PASSWORD." };
    private readonly Option<bool> _json = new("--json") { Description = "Print JSON for programs instead of tables." };

    public Option<bool> Json => _json;

    public void AddTo(Command command)
    {
        command.Options.Add(_server);
        command.Options.Add(_apiKeyEnv);
        command.Options.Add(_cluster);
        command.Options.Add(_redis);
        command.Options.Add(_clusterId);
        command.Options.Add(_serviceId);
        command.Options.Add(_dataDir);
        command.Options.Add(_tls);
        command.Options.Add(_json);
    }

    /// <summary>Whether the verb talks to a silo over HTTP, so that paths it sends are the silos', not this machine's.</summary>
    public bool IsRemote(ParseResult parse) => parse.GetValue(_server) is not null;

    /// <summary>Connects (or starts the embedded silo). <paramref name="working"/> silos run work; others only read.</summary>
    public async Task<Session> ConnectAsync(ParseResult parse, bool working, CancellationToken cancellationToken)
    {
        var cluster = parse.GetValue(_cluster);
        if (parse.GetValue(_server) is { } server)
        {
            return cluster is null
                ? ConnectOverHttp(server, parse.GetValue(_apiKeyEnv))
                : throw new EvalMeshInputException("give either --server (HTTP) or --cluster (an Orleans client), not both", setting: "--server");
        }

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });

        // A silo's settings as environment variables (EvalMesh__ModelHost__Threads=2) apply to the embedded silo too.
        builder.Configuration.AddEnvironmentVariables();
        var dataDirectory = parse.GetValue(_dataDir) ?? EvalMeshOptions.DefaultDataDirectory;
        builder.Logging.AddFilter(level => level >= LogLevel.Warning);
        if (FileLoggerProvider.TryOpen(Path.Combine(dataDirectory, "logs", "cli.log")) is { } log)
        {
            builder.Logging.AddProvider(log);
        }

        switch (cluster)
        {
            case null:
                var options = new EvalMeshOptions
                {
                    Cluster = "local",
                    ClusterId = parse.GetValue(_clusterId)!,
                    ServiceId = parse.GetValue(_serviceId)!,
                    DataDirectory = dataDirectory,
                    SiloPort = FreePort(),
                    GatewayPort = FreePort(),
                    Passive = !working,
                };
                builder.UseOrleans(silo => silo.AddEvalMesh(options));
                builder.Services.AddEvalMeshClient();
                break;
            case "redis":
                var redis = parse.GetValue(_redis) ?? throw new EvalMeshInputException("is required with --cluster redis", setting: "--redis");
                builder.AddEvalMeshClient(o =>
                {
                    o.Cluster = "redis";
                    o.Redis = redis;
                    o.ClusterId = parse.GetValue(_clusterId)!;
                    o.ServiceId = parse.GetValue(_serviceId)!;
                    o.TlsCertificate = parse.GetValue(_tls);
                    o.TlsCertificatePassword = Environment.GetEnvironmentVariable("EVALMESH_TLS_PASSWORD");
                });
                break;
            default:
                throw new EvalMeshInputException($"unknown cluster '{cluster}'; use 'redis', or leave --cluster out for the embedded silo", setting: "--cluster");
        }

        var host = builder.Build();
        await host.StartAsync(cancellationToken);
        return new Session(host.Services.GetRequiredService<IEvalMeshClient>(), async () =>
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await host.StopAsync(timeout.Token);
            host.Dispose();
        });
    }

    private static Session ConnectOverHttp(string server, string? apiKeyEnv)
    {
        if (!Uri.TryCreate(server, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
        {
            throw new EvalMeshInputException($"'{server}' is not an http(s) URL", setting: "--server");
        }

        var key = apiKeyEnv is null
            ? Environment.GetEnvironmentVariable(DefaultApiKeyVariable)
            : Environment.GetEnvironmentVariable(apiKeyEnv) ?? throw new EvalMeshInputException($"the environment variable {apiKeyEnv} is not set", setting: "--api-key-env");
        var services = new ServiceCollection().AddEvalMeshHttpClient(url, key).BuildServiceProvider();
        return new Session(services.GetRequiredService<IEvalMeshClient>(), services.DisposeAsync);
    }

    // The embedded silo takes free loopback ports, so that inspecting runs while another process runs one works.
    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>A connected client, and what to stop when the verb is done with it (the embedded silo, the Orleans client, the HTTP client).</summary>
    public sealed class Session(IEvalMeshClient client, Func<ValueTask> stop) : IAsyncDisposable
    {
        public IEvalMeshClient Client => client;

        public ValueTask DisposeAsync() => stop();
    }
}
