using EvalMesh.Silo;
using EvalMesh.Silo.Apis;
using EvalMesh.Silo.Security;
using Prometheus;

var builder = WebApplication.CreateBuilder(args);
if (!builder.AddEvalMeshSilo(args))
{
    return 2;
}

// Prometheus metrics at /metrics: EvalMesh's own, process figures, and every System.Diagnostics.Metrics meter (Orleans,
// ASP.NET Core, HttpClient) but the runtime's: its instrument names break Prometheus' naming rules, and prometheus-net's
// process figures cover it. prometheus-net would start listening to meters at the first scrape, losing what was counted
// before it, so the adapter starts here; the legacy EventCounters are left out.
Metrics.SuppressDefaultMetrics(new SuppressDefaultMetricOptions { SuppressEventCounters = true, SuppressMeters = true, SuppressDebugMetrics = true });
using var meters = MeterAdapter.StartListening(new MeterAdapterOptions
{
    InstrumentFilterPredicate = instrument => instrument.Meter.Name != "System.Runtime" && !instrument.Meter.Name.StartsWith("Private.", StringComparison.Ordinal),
});

var app = builder.Build();
app.UseEvalMeshSecurity();
app.MapHealthChecks("/healthz");
app.MapMetrics();
app.MapRunsApi();
app.MapUploadsApi();
app.MapRunPages();
app.MapAdaptersApi();
app.MapTrainingApi();
app.MapOpenAiGateway();
await app.RunAsync();
return Environment.ExitCode;
