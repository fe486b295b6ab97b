using System.Diagnostics;
using System.Globalization;
using EvalMesh.Evaluation.Statistics;
using EvalMesh.Testing;

namespace EvalMesh.Benchmarks;

/// <summary>
/// <c>statistics</c>: the report's statistics checked against a simulated model whose true accuracies are known
/// (<see cref="StatisticsSimulation"/>): how often the 95% intervals hold the truth, and how often the cheapest format is
/// recommended when it is truly worse by exactly the margin (must be at most alpha) or truly as good (power). The method
/// used before the case became the unit is in the same table.
/// </summary>
internal static class StatisticsBenchmark
{
    public const int DefaultRuns = 2000;

    public static int Run(string[] args)
    {
        var runs = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : DefaultRuns;
        var settings = RecommendSettings.Default;
        var clock = Stopwatch.StartNew();
        Console.WriteLine($"{runs:N0} simulated runs per scenario; three formats (pretty-json 900, oneline-json 700, csv 400 tokens), the first two equally accurate; margin {settings.Margin:0.##}, alpha {settings.Alpha:0.##}; case logits normal(mean, 1.5), repeats sticky 0.5, formats share a repeat's draw 0.8.");
        Console.WriteLine();
        Console.WriteLine("| scenario | method | accuracy 95% CI coverage | difference 95% CI coverage | csv recommended |");
        Console.WriteLine("|---|---|---:|---:|---:|");
        var seed = 1;
        foreach (var scenario in StatisticsSimulation.Scenarios(settings.Margin))
        {
            var tallies = StatisticsSimulation.Run(scenario, runs, seed++, settings);
            foreach (var (method, tally) in tallies)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {scenario.Name} | {Name(method)} | {tally.AccuracyCoverage:0.0%} | {tally.DifferenceCoverage:0.0%} | {tally.CheapestRate:0.0%} |"));
            }
        }

        Console.WriteLine();
        Console.WriteLine($"({clock.Elapsed.TotalSeconds:0.0} s)");
        return 0;
    }

    private static string Name(SimulationMethod method) => method switch
    {
        SimulationMethod.PerCase => "per case (EvalMesh)",
        SimulationMethod.PerCell => "per cell (before)",
        _ => "clustered SE ± t (not used)",
    };
}
