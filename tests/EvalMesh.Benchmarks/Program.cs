using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using EvalMesh.Benchmarks;

// Figures that need a whole scenario (a loaded model, concurrent requests, a cluster) are plain programs that print
// a table; micro-benchmarks go through BenchmarkDotNet.
return args.FirstOrDefault() switch
{
    "inference" => await InferenceBenchmark.RunAsync(args[1..]),
    "routing" => await RoutingBenchmark.RunAsync(args[1..]),
    "eval-routing" => await EvalRoutingBenchmark.RunAsync(),
    "routing-sim" => RoutingSimulation.Run(),
    "endpoint-faults" => await EndpointFaultBenchmark.RunAsync(),
    "statistics" => StatisticsBenchmark.Run(args[1..]),
    "training" => await TrainingBenchmark.RunAsync(args[1..]),
    "gateway-load" => await GatewayLoadBenchmark.RunAsync(args[1..]),
    "tiny-accuracy" or "tiny-data" or "tiny-train" or "copy-probe" => await TinyAccuracyBenchmark.RunAsync(args[0], args[1..]),
    _ => RunBenchmarkDotNet(args),
};

static int RunBenchmarkDotNet(string[] args)
{
    // Reports go beside the build output, not into the folder the command was started from.
    var config = DefaultConfig.Instance.WithArtifactsPath(Path.Combine(AppContext.BaseDirectory, "BenchmarkDotNet.Artifacts"));
    BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
    return 0;
}
