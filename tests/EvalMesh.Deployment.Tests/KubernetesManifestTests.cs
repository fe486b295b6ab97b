using System.Text;
using System.Text.Json.Nodes;
using EvalMesh.Testing;

namespace EvalMesh.Deployment.Tests;

/// <summary>
/// The Kustomize overlays under k8s/, rendered with kubectl and checked offline: every object against Kubernetes' JSON
/// schemas, and what a deployment relies on (GPU scheduling, probes, Orleans' Kubernetes hosting and its RBAC, Redis
/// persistence, metrics, the dashboards).
/// </summary>
public sealed class KubernetesManifestTests
{
    public static TheoryData<string> Overlays => new("cpu", "gpu");

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Overlay_Renders_EveryObjectMatchesItsSchema(string overlay)
    {
        var rendered = await Manifests.KustomizeAsync(overlay);
        Assert.True(rendered.ExitCode == 0, rendered.Stderr);

        var validation = await Manifests.ValidateAsync(rendered.Stdout);

        Assert.True(validation.ExitCode == 0, validation.Stdout + validation.Stderr);
        Assert.Equal($"{Manifests.Parse(rendered.Stdout).Count} objects valid", validation.Stdout.Trim());
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Overlay_HasEveryPart(string overlay)
    {
        var objects = await Manifests.RenderAsync(overlay);
        var parts = objects.Select(o => $"{Kind(o)}/{Name(o)}").Order(StringComparer.Ordinal).ToList();

        // The silo's settings, generated with a hash of their content in the name.
        var settings = Assert.Single(parts, p => p.StartsWith("ConfigMap/evalmesh-silo-", StringComparison.Ordinal));
        Assert.Equal(
            [
                "ConfigMap/evalmesh-dashboards", "Deployment/evalmesh-silo", "Namespace/evalmesh", "PodDisruptionBudget/evalmesh-silo",
                "Role/evalmesh-silo", "RoleBinding/evalmesh-silo", "Service/evalmesh", "Service/evalmesh-metrics", "Service/redis",
                "ServiceAccount/evalmesh-silo", "ServiceMonitor/evalmesh", "StatefulSet/redis",
            ],
            parts.Where(p => p != settings));
        Assert.All(objects.Where(o => Kind(o) != "Namespace"), o => Assert.Equal("evalmesh", o["metadata"]!["namespace"]!.ToString()));
    }

    [Fact]
    public async Task GpuOverlay_Silo_RequestsAGpuOnAGpuNode()
    {
        var silo = Silo(await Manifests.RenderAsync("gpu"));
        var pod = silo["spec"]!["template"]!["spec"]!;
        var container = Container(silo);

        Assert.Equal("1", container["resources"]!["requests"]!["nvidia.com/gpu"]!.ToString());
        Assert.Equal("1", container["resources"]!["limits"]!["nvidia.com/gpu"]!.ToString());
        Assert.Equal("true", pod["nodeSelector"]!["nvidia.com/gpu.present"]!.ToString());
        Assert.Contains(pod["tolerations"]!.AsArray(), t =>
            t!["key"]?.ToString() == "nvidia.com/gpu" && t["operator"]?.ToString() == "Exists" && t["effect"]?.ToString() == "NoSchedule");
        Assert.EndsWith(":cuda12", container["image"]!.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task CpuOverlay_Silo_TwoSmallReplicasWithoutGpu()
    {
        var silo = Silo(await Manifests.RenderAsync("cpu"));
        var container = Container(silo);

        Assert.Equal("2", silo["spec"]!["replicas"]!.ToString());
        Assert.Equal("250m", container["resources"]!["requests"]!["cpu"]!.ToString());
        Assert.DoesNotContain("nvidia.com/gpu", container["resources"]!.ToJsonString(), StringComparison.Ordinal);
        Assert.Null(silo["spec"]!["template"]!["spec"]!["nodeSelector"]);
        Assert.EndsWith(":cpu", container["image"]!.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Silo_ProbesHitHealthzOnTheHttpPort(string overlay)
    {
        var objects = await Manifests.RenderAsync(overlay);
        var container = Container(Silo(objects));

        foreach (var probe in new[] { "startupProbe", "readinessProbe", "livenessProbe" })
        {
            var get = container[probe]!["httpGet"]!;
            Assert.Equal("/healthz", get["path"]!.ToString());
            Assert.Equal("http", get["port"]!.ToString());
        }

        Assert.Equal(SiloSettings(objects)["ASPNETCORE_HTTP_PORTS"]!.ToString(), ContainerPort(container, "http"));
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Silo_HandsOrleansKubernetesHostingItsPodIdentity(string overlay)
    {
        var objects = await Manifests.RenderAsync(overlay);
        var silo = Silo(objects);
        var labels = silo["spec"]!["template"]!["metadata"]!["labels"]!;
        var container = Container(silo);
        var settings = SiloSettings(objects);
        var fields = container["env"]!.AsArray().ToDictionary(e => e!["name"]!.ToString(), e => e!["valueFrom"]?["fieldRef"]?["fieldPath"]?.ToString());

        Assert.Equal("metadata.name", fields["POD_NAME"]);
        Assert.Equal("metadata.namespace", fields["POD_NAMESPACE"]);
        Assert.Equal("status.podIP", fields["POD_IP"]);
        Assert.Equal("metadata.labels['orleans/serviceId']", fields["ORLEANS_SERVICE_ID"]);
        Assert.Equal("metadata.labels['orleans/clusterId']", fields["ORLEANS_CLUSTER_ID"]);
        Assert.False(string.IsNullOrEmpty(labels["orleans/serviceId"]?.ToString()));
        Assert.False(string.IsNullOrEmpty(labels["orleans/clusterId"]?.ToString()));
        // EvalMesh's own ids and advertised address come from the same fields, so Orleans and EvalMesh agree.
        Assert.Equal(fields["ORLEANS_SERVICE_ID"], fields["EvalMesh__ServiceId"]);
        Assert.Equal(fields["ORLEANS_CLUSTER_ID"], fields["EvalMesh__ClusterId"]);
        Assert.Equal(fields["POD_IP"], fields["EvalMesh__AdvertisedAddress"]);
        // The silo uses Kubernetes hosting only when clustered; its Orleans ports are the ones the pod declares.
        Assert.Equal("redis", settings["EvalMesh__Cluster"]!.ToString());
        Assert.Equal(settings["EvalMesh__SiloPort"]!.ToString(), ContainerPort(container, "silo"));
        Assert.Equal(settings["EvalMesh__GatewayPort"]!.ToString(), ContainerPort(container, "gateway"));
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Silo_ListensOnEveryAddress_WithAnAdminKeyFromASecret(string overlay)
    {
        var env = Container(Silo(await Manifests.RenderAsync(overlay)))["env"]!.AsArray().ToDictionary(e => e!["name"]!.ToString(), e => e!);

        Assert.Equal("Admin", env["EvalMesh__Security__ApiKeys__0__Scope"]["value"]!.ToString());
        var secret = env["EvalMesh__Security__ApiKeys__0__Key"]["valueFrom"]!["secretKeyRef"]!;
        Assert.Equal("evalmesh-api-keys", secret["name"]!.ToString());
        Assert.Equal("admin", secret["key"]!.ToString());
        Assert.Null(env["EvalMesh__Security__ApiKeys__0__Key"]["value"]);
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Silo_ReadOnlyRootFileSystem_EveryPathItWritesIsAVolume(string overlay)
    {
        var objects = await Manifests.RenderAsync(overlay);
        var container = Container(Silo(objects));
        var settings = SiloSettings(objects);
        var mounts = container["volumeMounts"]!.AsArray().Select(m => m!["mountPath"]!.ToString()).ToList();

        Assert.Equal("true", container["securityContext"]!["readOnlyRootFilesystem"]!.ToString());
        // Adapter snapshots (the temp folder), EvalMesh's folder (created at start-up) and the tiny model's cache.
        foreach (var path in new[] { "/tmp", settings["EVALMESH_HOME"]!.ToString(), settings["EvalMesh__ModelCache"]!.ToString() })
        {
            Assert.True(mounts.Any(m => path == m || path.StartsWith(m + "/", StringComparison.Ordinal)), $"{path} is on the read-only root file system");
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Rbac_LetsTheSilosDoWhatOrleansKubernetesHostingDoes(string overlay)
    {
        var objects = await Manifests.RenderAsync(overlay);
        var pod = Silo(objects)["spec"]!["template"]!["spec"]!;
        var account = pod["serviceAccountName"]!.ToString();
        Find(objects, "ServiceAccount", account);
        Assert.NotEqual("false", pod["automountServiceAccountToken"]?.ToString());

        var binding = Assert.Single(objects, o => Kind(o) == "RoleBinding" && o["subjects"]!.AsArray().Any(s =>
            s!["kind"]?.ToString() == "ServiceAccount" && s["name"]?.ToString() == account && s["namespace"]?.ToString() == "evalmesh"));
        Assert.Equal("Role", binding["roleRef"]!["kind"]!.ToString());
        var role = Find(objects, "Role", binding["roleRef"]!["name"]!.ToString());
        var podVerbs = role["rules"]!.AsArray()
            .Where(r => Strings(r!["apiGroups"]).Contains("") && Strings(r!["resources"]).Contains("pods"))
            .SelectMany(r => Strings(r!["verbs"]))
            .Distinct();

        // get: its own pod; patch: the orleans/* labels onto it; list, watch: the cluster's pods (a deleted pod's
        // silo is declared dead); delete: the pod of a silo declared dead (SiloSetup turns DeleteDefunctSiloPods on).
        Assert.Equal(["delete", "get", "list", "patch", "watch"], podVerbs.Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Redis_PersistsItsAppendOnlyFileOnAVolumeClaim(string overlay)
    {
        var objects = await Manifests.RenderAsync(overlay);
        var redis = Find(objects, "StatefulSet", "redis");
        var container = Container(redis);
        var args = Strings(container["args"]);

        Assert.Contains("--appendonly", args);
        Assert.Equal("yes", args[args.IndexOf("--appendonly") + 1]);
        Assert.Contains("--dir", args);
        var claim = Assert.Single(redis["spec"]!["volumeClaimTemplates"]!.AsArray())!;
        Assert.Contains(container["volumeMounts"]!.AsArray(), m =>
            m!["name"]!.ToString() == claim["metadata"]!["name"]!.ToString() && m["mountPath"]!.ToString() == args[args.IndexOf("--dir") + 1]);
        Assert.NotNull(claim["spec"]!["resources"]!["requests"]!["storage"]);

        // The silos reach the StatefulSet's first pod by its name under the headless Service.
        var service = Find(objects, "Service", redis["spec"]!["serviceName"]!.ToString());
        Assert.Equal("None", service["spec"]!["clusterIP"]!.ToString());
        var port = Assert.Single(service["spec"]!["ports"]!.AsArray())!["port"]!.ToString();
        Assert.Equal($"{Name(redis)}-0.{Name(service)}:{port}", SiloSettings(objects)["EvalMesh__Redis"]!.ToString());
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Services_ReachTheSilosHttpPort_ServiceMonitorScrapesMetrics(string overlay)
    {
        var objects = await Manifests.RenderAsync(overlay);
        var podLabels = Silo(objects)["spec"]!["template"]!["metadata"]!["labels"]!;
        var monitor = Assert.Single(objects, o => Kind(o) == "ServiceMonitor");
        var metrics = Assert.Single(objects, o => Kind(o) == "Service" && Matches(monitor["spec"]!["selector"]!["matchLabels"]!, o["metadata"]!["labels"]!));
        var endpoint = Assert.Single(monitor["spec"]!["endpoints"]!.AsArray())!;

        Assert.Equal("monitoring.coreos.com/v1", monitor["apiVersion"]!.ToString());
        Assert.Equal("/metrics", endpoint["path"]!.ToString());
        Assert.Equal("metrics", endpoint["port"]!.ToString());
        foreach (var service in new[] { metrics, Find(objects, "Service", "evalmesh") })
        {
            Assert.True(Matches(service["spec"]!["selector"]!, podLabels), $"{Name(service)} does not select the silos");
            Assert.Contains(service["spec"]!["ports"]!.AsArray(), p => p!["targetPort"]!.ToString() == "http");
        }

        Assert.Contains(metrics["spec"]!["ports"]!.AsArray(), p => p!["name"]!.ToString() == "metrics");
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task DisruptionBudget_KeepsAllButOneSiloUp(string overlay)
    {
        var objects = await Manifests.RenderAsync(overlay);
        var silo = Silo(objects);
        var budget = Assert.Single(objects, o => Kind(o) == "PodDisruptionBudget");

        Assert.True(Matches(budget["spec"]!["selector"]!["matchLabels"]!, silo["spec"]!["template"]!["metadata"]!["labels"]!));
        Assert.Equal("1", budget["spec"]!["maxUnavailable"]!.ToString());
        Assert.True(int.Parse(silo["spec"]!["replicas"]!.ToString()) > 1);
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Dashboards_ConfigMapIsGeneratedFromEveryDashboardFile(string overlay)
    {
        var objects = await Manifests.RenderAsync(overlay);
        var files = Directory.GetFiles(RepoPaths.Under("dashboards"), "*.json").OrderBy(f => f, StringComparer.Ordinal).ToList();
        var dashboards = Assert.Single(objects, o => Kind(o) == "ConfigMap" && o["metadata"]!["labels"]?["grafana_dashboard"]?.ToString() == "1");
        var data = dashboards["data"]!.AsObject();

        Assert.NotEmpty(files);
        Assert.Equal(files.Select(Path.GetFileName), data.Select(d => d.Key).Order(StringComparer.Ordinal));
        Assert.All(files, f => Assert.Equal(File.ReadAllText(f), data[Path.GetFileName(f)]!.ToString()));
        // A ConfigMap holds at most 1 MiB.
        Assert.True(data.Sum(d => Encoding.UTF8.GetByteCount(d.Value!.ToString())) < 1 << 20);
    }

    [Fact]
    public async Task Validator_RenderedDeploymentWithStringReplicas_FailsNamingIt()
    {
        var rendered = await Manifests.KustomizeAsync("cpu");
        const string Replicas = "\n  replicas: 2\n";
        Assert.Contains(Replicas, rendered.Stdout, StringComparison.Ordinal);

        var validation = await Manifests.ValidateAsync(rendered.Stdout.Replace(Replicas, "\n  replicas: two\n", StringComparison.Ordinal));

        Assert.Equal(1, validation.ExitCode);
        Assert.Equal("Deployment/evalmesh-silo: /spec/replicas: must be integer", validation.Stdout.Trim());
    }

    [Fact]
    public async Task Validator_KindWithoutSchema_FailsNamingIt()
    {
        var validation = await Manifests.ValidateAsync("apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: gadget\n");

        Assert.Equal(1, validation.ExitCode);
        Assert.StartsWith("Widget/gadget: /: unknown apiVersion example.com/v1 and kind Widget", validation.Stdout, StringComparison.Ordinal);
    }

    private static string Kind(JsonObject o) => o["kind"]!.ToString();

    private static string Name(JsonObject o) => o["metadata"]!["name"]!.ToString();

    private static JsonObject Find(IReadOnlyList<JsonObject> objects, string kind, string name) =>
        Assert.Single(objects, o => Kind(o) == kind && Name(o) == name);

    private static JsonObject Silo(IReadOnlyList<JsonObject> objects) => Find(objects, "Deployment", "evalmesh-silo");

    private static JsonNode Container(JsonObject workload) => Assert.Single(workload["spec"]!["template"]!["spec"]!["containers"]!.AsArray())!;

    private static string ContainerPort(JsonNode container, string name) =>
        Assert.Single(container["ports"]!.AsArray(), p => p!["name"]!.ToString() == name)!["containerPort"]!.ToString();

    /// <summary>The data of the ConfigMap the silo takes its environment from (its generated, hashed name).</summary>
    private static JsonNode SiloSettings(IReadOnlyList<JsonObject> objects)
    {
        var source = Assert.Single(Container(Silo(objects))["envFrom"]!.AsArray())!;
        return Find(objects, "ConfigMap", source["configMapRef"]!["name"]!.ToString())["data"]!;
    }

    private static List<string> Strings(JsonNode? array) => [.. array!.AsArray().Select(n => n!.ToString())];

    private static bool Matches(JsonNode selector, JsonNode labels) =>
        selector.AsObject().All(pair => labels[pair.Key]?.ToString() == pair.Value!.ToString());
}
