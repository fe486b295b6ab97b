using EvalMesh.Contracts;
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
        Console.WriteLine("Each cell: per case (EvalMesh) / per cell (before: every repeat a trial, McNemar on cells) / clustered SE ± t (considered, not used).");
        Console.WriteLine();
        Console.WriteLine("| scenario | accuracy 95% CI coverage (goal 93–97%) | difference 95% CI coverage | csv recommended (goal ≤ 5% when 3 points worse) |");
        Console.WriteLine("|---|---:|---:|---:|");
        var seed = 1;
        foreach (var scenario in StatisticsSimulation.Scenarios(settings.Margin))
        {
            var tallies = StatisticsSimulation.Run(scenario, runs, seed++, settings);
            var methods = new[] { SimulationMethod.PerCase, SimulationMethod.PerCell, SimulationMethod.ClusteredT }.Select(m => tallies[m]).ToList();
            string Cells(Func<SimulationTally, double> figure) => string.Join(" / ", methods.Select(t => figure(t).ToString("0.0%", CultureInfo.InvariantCulture)));
            Console.WriteLine($"| {scenario.Name} | {Cells(t => t.AccuracyCoverage)} | {Cells(t => t.DifferenceCoverage)} | {Cells(t => t.CheapestRate)} |");
        }

        Console.WriteLine();
        Console.WriteLine($"({clock.Elapsed.TotalSeconds:0.0} s)");
        return 0;
    }
}
