using EvalMesh.Silo;
using EvalMesh.Silo.Apis;
using Prometheus;

var builder = WebApplication.CreateBuilder(args);
if (!builder.AddEvalMeshSilo(args))
{
    return 2;
}

// Prometheus metrics at /metrics: process and .NET runtime figures and every System.Diagnostics.Metrics meter,
// Orleans' own included, except the runtime's private diagnostics.
Metrics.ConfigureMeterAdapter(o => o.InstrumentFilterPredicate = instrument => !instrument.Meter.Name.StartsWith("Private.", StringComparison.Ordinal));

var app = builder.Build();
app.MapHealthChecks("/healthz");
app.MapMetrics();
app.MapRunsApi();
app.MapAdaptersApi();
app.MapOpenAiGateway();
await app.RunAsync();
return 0;
