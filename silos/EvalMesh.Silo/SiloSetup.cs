using EvalMesh.Client;
using EvalMesh.Grains;
using EvalMesh.Grains.Hosting;
using Microsoft.Extensions.Options;

namespace EvalMesh.Silo;

/// <summary>Reads the silo's settings (command line, configuration, environment) and adds Orleans with EvalMesh.</summary>
internal static class SiloSetup
{
    private static readonly Dictionary<string, string> Switches = new(StringComparer.Ordinal)
    {
        ["--cluster"] = "EvalMesh:Cluster",
        ["--redis"] = "EvalMesh:Redis",
        ["--cluster-id"] = "EvalMesh:ClusterId",
        ["--service-id"] = "EvalMesh:ServiceId",
        ["--silo-port"] = "EvalMesh:SiloPort",
        ["--gateway-port"] = "EvalMesh:GatewayPort",
        ["--advertise"] = "EvalMesh:AdvertisedAddress",
        ["--data-dir"] = "EvalMesh:DataDirectory",
    };

    /// <summary>Adds the silo; false (after one line on stderr) when a setting is invalid.</summary>
    public static bool AddEvalMeshSilo(this WebApplicationBuilder builder, string[] args)
    {
        builder.Configuration.AddCommandLine(args, Switches);
        var options = new EvalMeshOptions();
        builder.Configuration.GetSection(EvalMeshOptions.Section).Bind(options);
        var validation = new EvalMeshOptionsValidator().Validate(null, options);
        if (validation.Failed)
        {
            Console.Error.WriteLine($"evalmesh-silo: error: {string.Join("; ", validation.Failures)}");
            return false;
        }

        builder.UseOrleans(silo => silo.AddEvalMesh(options));
        builder.Services.AddEvalMeshClient();
        builder.Services.AddHealthChecks();
        builder.Services.AddProblemDetails();
        return true;
    }
}
