using EvalMesh.Client;
using EvalMesh.Evaluation;
using EvalMesh.Grains;
using EvalMesh.Grains.Hosting;
using Microsoft.Extensions.Options;
using EvalMesh.Silo.Security;
using Orleans.Hosting.Kubernetes;

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

    /// <summary>Whether this process runs in a Kubernetes pod that names itself (POD_NAME from the downward API).</summary>
    private static bool InKubernetesPod =>
        !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST"))
        && !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(KubernetesHostingOptions.PodNameEnvironmentVariable));

    /// <summary>Adds the silo; false (after one line on stderr) when a setting is invalid.</summary>
    public static bool AddEvalMeshSilo(this WebApplicationBuilder builder, string[] args)
    {
        builder.Configuration.AddCommandLine(args, Switches);
        if (Settings(builder.Configuration, EvalMeshOptions.Section, new EvalMeshOptionsValidator()) is not { } options
            || Settings(builder.Configuration, SecurityOptions.Section, new SecurityOptionsValidator()) is not { } security)
        {
            return false;
        }

        try
        {
            builder.UseOrleans(silo =>
            {
                silo.AddEvalMesh(options);
                if (!options.IsLocal && InKubernetesPod)
                {
                    // Silo name = pod name; a silo whose pod is deleted is declared dead, and a dead silo's pod deleted.
                    // It keeps the address and ports EvalMesh configured and takes the cluster's ids from ORLEANS_*:
                    // k8s/ sets those and EvalMesh__ServiceId/ClusterId from the same pod labels, the address from the pod IP.
                    silo.UseKubernetesHosting(kubernetes => kubernetes.Configure(o => o.DeleteDefunctSiloPods = true));
                }
            });
        }
        catch (EvalMeshInputException ex)
        {
            // Such as a TLS certificate that cannot be loaded.
            Console.Error.WriteLine($"evalmesh-silo: error: {ex.Message}");
            return false;
        }

        builder.AddEvalMeshSecurity(security);
        builder.Services.AddEvalMeshClient();
        builder.Services.AddHealthChecks();
        builder.Services.AddProblemDetails();
        return true;
    }

    /// <summary>A section's settings, or null (after one line on stderr naming the setting) when one is invalid.</summary>
    private static T? Settings<T>(IConfiguration configuration, string section, IValidateOptions<T> validator)
        where T : class, new()
    {
        var settings = new T();
        try
        {
            configuration.GetSection(section).Bind(settings);
        }
        catch (InvalidOperationException ex)
        {
            Console.Error.WriteLine($"evalmesh-silo: error: {section}: {ex.Message}");
            return null;
        }

        var validation = validator.Validate(null, settings);
        if (validation.Failed)
        {
            Console.Error.WriteLine($"evalmesh-silo: error: {string.Join("; ", validation.Failures)}");
            return null;
        }

        return settings;
    }
}
