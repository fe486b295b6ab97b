using EvalMesh.Silo;
using EvalMesh.Silo.Apis;

var builder = WebApplication.CreateBuilder(args);
if (!builder.AddEvalMeshSilo(args))
{
    return 2;
}

var app = builder.Build();
app.MapHealthChecks("/healthz");
app.MapRunsApi();
app.MapAdaptersApi();
app.MapOpenAiGateway();
await app.RunAsync();
return 0;
