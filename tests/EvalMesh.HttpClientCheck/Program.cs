// EvalMesh.HttpClientCheck URL CONFIG OUT: runs CONFIG, whose datasets and suites are this machine's files, on the silo
// at URL through IEvalMeshClient's HTTP flavour (API key from EVALMESH_API_KEY). Writes OUT/report.json and
// OUT/results.jsonl (one cell a line) and prints one line of JSON: the run, the progress updates it saw, and the
// uploads it made, the first time and when the same config is started again (when nothing should be sent).
using System.Text.Json;
using EvalMesh.Abstractions;
using EvalMesh.Client;
using EvalMesh.Evaluation.Configuration;
using EvalMesh.HttpClientCheck;
using Microsoft.Extensions.DependencyInjection;

if (args.Length != 3)
{
    Console.Error.WriteLine("usage: EvalMesh.HttpClientCheck URL CONFIG OUT");
    return 2;
}

var requests = new RequestLog();
var services = new ServiceCollection().AddEvalMeshHttpClient(new Uri(args[0]), Environment.GetEnvironmentVariable("EVALMESH_API_KEY"));
services.ConfigureHttpClientDefaults(http => http.AddHttpMessageHandler(() => new RequestLog.Handler(requests)));
await using var provider = services.BuildServiceProvider();
var client = provider.GetRequiredService<IEvalMeshClient>();

var config = ConfigLoader.Load(args[1]);
var run = await client.StartRunAsync(config);
var uploads = requests.Count("PUT");
var updates = new List<RunStatus>();
await foreach (var status in client.WatchRunAsync(run.RunId))
{
    updates.Add(status);
}

Directory.CreateDirectory(args[2]);
await File.WriteAllTextAsync(Path.Combine(args[2], "report.json"), JsonSerializer.Serialize(await client.GetReportAsync(run.RunId), ReportWriter.Json));
await using (var results = File.CreateText(Path.Combine(args[2], "results.jsonl")))
{
    await foreach (var cell in client.GetResultsAsync(run.RunId))
    {
        await results.WriteLineAsync(JsonSerializer.Serialize(cell, ReportWriter.JsonLine));
    }
}

// Starting the same run again asks whether its inputs are there, finds them, and sends nothing.
var checksBefore = requests.Count("HEAD");
await client.StartRunAsync(config, run.RunId);
Console.WriteLine(JsonSerializer.Serialize(
    new
    {
        runId = run.RunId,
        state = updates[^1].State,
        updates = updates.Select(u => u.Completed),
        uploads,
        uploadsAgain = requests.Count("PUT") - uploads,
        checksAgain = requests.Count("HEAD") - checksBefore,
    },
    ReportWriter.JsonLine));
return 0;
