using EvalMesh.Contracts;
using EvalMesh.Evaluation.Statistics;

namespace EvalMesh.Testing;

/// <summary>
/// A simulated model for checking the statistics (the benchmark's <c>statistics</c> mode and the fast test share it):
/// every case has a difficulty drawn from a normal distribution on the logit scale, every format shifts it by a known
/// amount, so each (case, format) has a known pass probability; repeats of a case are correlated (besides sharing the
/// case's probability, a repeat is the first repeat's draw again with probability <see cref="SimulationScenario.Stickiness"/>,
/// as a sampled model's answers often are), and formats on the same repeat share the draw with probability
/// <see cref="SimulationScenario.Sharing"/>, as one model answering the same question in two formats does. Test-side
/// only: it is not an endpoint type.
/// </summary>
/// <param name="Name">How the table names it.</param>
/// <param name="Cases">Cases per simulated run.</param>
/// <param name="Repeats">Repeats per case and format.</param>
/// <param name="MeanLogit">The mean case difficulty on the logit scale (the most accurate format's).</param>
/// <param name="LogitSd">How much cases differ in difficulty.</param>
/// <param name="Gap">How much less accurate (a fraction) the cheapest format truly is than the two others.</param>
/// <param name="Stickiness">The chance that a repeat repeats the first repeat's draw.</param>
/// <param name="Sharing">The chance that a format uses the draw the formats share on that repeat.</param>
internal sealed record SimulationScenario(string Name, int Cases, int Repeats, double MeanLogit, double LogitSd, double Gap, double Stickiness = 0.5, double Sharing = 0.8);

/// <summary>The methods the simulation compares.</summary>
internal enum SimulationMethod
{
    /// <summary>What EvalMesh does: the case is the unit (<see cref="CaseAccuracy"/>, <see cref="PairedDifference"/>, <see cref="FormatRecommendation"/>).</summary>
    PerCase,

    /// <summary>What it did before: every repeat a trial (Wilson over cells), McNemar on cells, the cheapest format not significantly worse.</summary>
    PerCell,

    /// <summary>Considered and not used: mean ± t·SE clustered by case, and a t-test of non-inferiority.</summary>
    ClusteredT,
}

/// <summary>How often, over the runs of a scenario, a method's intervals covered the truth and what it recommended.</summary>
/// <param name="Runs">Simulated runs.</param>
/// <param name="AccuracyCovered">Accuracy intervals (three formats a run) that held the format's true accuracy.</param>
/// <param name="AccuracyIntervals">Accuracy intervals made.</param>
/// <param name="DifferenceCovered">Paired-difference intervals (each cheaper format against the most expensive) that held the true difference.</param>
/// <param name="DifferenceIntervals">Paired-difference intervals made.</param>
/// <param name="CheapestRecommended">Runs in which the cheapest format was recommended.</param>
internal sealed record SimulationTally(int Runs, int AccuracyCovered, int AccuracyIntervals, int DifferenceCovered, int DifferenceIntervals, int CheapestRecommended)
{
    public double AccuracyCoverage => (double)AccuracyCovered / AccuracyIntervals;

    public double DifferenceCoverage => (double)DifferenceCovered / DifferenceIntervals;

    public double CheapestRate => (double)CheapestRecommended / Runs;
}

/// <summary>Runs scenarios of the simulated model through each method.</summary>
internal static class StatisticsSimulation
{
    // Three formats, most expensive first; the first two are equally accurate and the cheapest is Gap worse.
    private static readonly (string Name, double Tokens)[] Formats = [("pretty-json", 900), ("oneline-json", 700), ("csv", 400)];

    // Case logits normal(mean, 1.5): a mean of 1.2 gives 70% accuracy, 3.6 gives 94%.
    private static readonly (string Name, double Logit)[] Levels = [("70%", 1.2), ("94%", 3.6)];
    private static readonly int[] CaseCounts = [20, 200];
    private static readonly int[] RepeatCounts = [1, 3];

    /// <summary>The scenarios of the benchmark's table: coverage and the margin's error rate, then power with no true difference.</summary>
    public static IReadOnlyList<SimulationScenario> Scenarios(double margin) =>
    [
        .. from level in Levels
           from cases in CaseCounts
           from repeats in RepeatCounts
           select new SimulationScenario($"{cases} cases × {repeats} repeat{(repeats == 1 ? "" : "s")}, accuracy {level.Name}, csv {margin * 100:0.#} points worse", cases, repeats, level.Logit, 1.5, margin),
        .. from repeats in RepeatCounts
           select new SimulationScenario($"400 cases × {repeats} repeat{(repeats == 1 ? "" : "s")}, accuracy 70%, no true difference", 400, repeats, 1.2, 1.5, 0),
    ];

    /// <summary>Simulates <paramref name="runs"/> runs of <paramref name="scenario"/> with <paramref name="seed"/> and scores every method on the same data.</summary>
    public static IReadOnlyDictionary<SimulationMethod, SimulationTally> Run(SimulationScenario scenario, int runs, int seed, RecommendSettings settings)
    {
        var random = new Random(seed);
        var truth = TrueAccuracy(scenario.MeanLogit, scenario.LogitSd, 0);
        double[] offsets = [0, 0, OffsetFor(scenario, truth - scenario.Gap)];
        double[] accuracies = [truth, truth, truth - scenario.Gap];
        var counts = Enum.GetValues<SimulationMethod>().ToDictionary(m => m, _ => new int[5]);
        for (var run = 0; run < runs; run++)
        {
            var outcomes = Simulate(scenario, offsets, random);
            Score(SimulationMethod.PerCase, PerCase(outcomes, settings), accuracies, counts);
            Score(SimulationMethod.PerCell, PerCell(outcomes, settings), accuracies, counts);
            Score(SimulationMethod.ClusteredT, ClusteredT(outcomes, settings), accuracies, counts);
        }

        return counts.ToDictionary(c => c.Key, c => new SimulationTally(runs, c.Value[0], c.Value[1], c.Value[2], c.Value[3], c.Value[4]));
    }

    /// <summary>The true accuracy of a format whose cases' logits are normal(<paramref name="meanLogit"/> + <paramref name="offset"/>, <paramref name="sd"/>).</summary>
    public static double TrueAccuracy(double meanLogit, double sd, double offset)
    {
        // The trapezoid rule over ±10 standard deviations; the integrand is smooth, so 4,000 steps are exact to ~1e-12.
        const int steps = 4000;
        var sum = 0.0;
        for (var i = 0; i <= steps; i++)
        {
            var z = -10 + 20.0 * i / steps;
            var weight = i is 0 or steps ? 0.5 : 1;
            sum += weight * Math.Exp(-z * z / 2) / (1 + Math.Exp(-(meanLogit + offset + sd * z)));
        }

        return sum * 20.0 / steps / Math.Sqrt(2 * Math.PI);
    }

    // The offset that gives the format the accuracy asked for, by bisection (accuracy rises with the offset).
    private static double OffsetFor(SimulationScenario scenario, double accuracy)
    {
        double low = -20, high = 20;
        for (var i = 0; i < 100; i++)
        {
            var mid = (low + high) / 2;
            if (TrueAccuracy(scenario.MeanLogit, scenario.LogitSd, mid) < accuracy)
            {
                low = mid;
            }
            else
            {
                high = mid;
            }
        }

        return (low + high) / 2;
    }

    // outcomes[format][case][repeat].
    private static bool[][][] Simulate(SimulationScenario scenario, double[] offsets, Random random)
    {
        var outcomes = offsets.Select(_ => new bool[scenario.Cases][]).ToArray();
        var shared = new double[scenario.Repeats];
        var own = new double[offsets.Length][];
        for (var f = 0; f < offsets.Length; f++)
        {
            own[f] = new double[scenario.Repeats];
        }

        for (var c = 0; c < scenario.Cases; c++)
        {
            var logit = scenario.MeanLogit + scenario.LogitSd * Gaussian(random);
            Draw(shared, scenario.Stickiness, random);
            for (var f = 0; f < offsets.Length; f++)
            {
                Draw(own[f], scenario.Stickiness, random);
                var p = 1 / (1 + Math.Exp(-(logit + offsets[f])));
                outcomes[f][c] = new bool[scenario.Repeats];
                for (var r = 0; r < scenario.Repeats; r++)
                {
                    var u = random.NextDouble() < scenario.Sharing ? shared[r] : own[f][r];
                    outcomes[f][c][r] = u < p;
                }
            }
        }

        return outcomes;
    }

    // Uniform draws for a case's repeats; each after the first is the first again with probability 'stickiness'.
    private static void Draw(double[] draws, double stickiness, Random random)
    {
        for (var r = 0; r < draws.Length; r++)
        {
            draws[r] = r > 0 && random.NextDouble() < stickiness ? draws[0] : random.NextDouble();
        }
    }

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    // What a method says about one run: an accuracy interval per format, a difference interval per cheaper format
    // against the most expensive, and the format it recommends.
    private sealed record Verdict((double Lower, double Upper)[] Accuracy, (double Lower, double Upper)[] Differences, string? Recommended);

    private static void Score(SimulationMethod method, Verdict verdict, double[] truth, Dictionary<SimulationMethod, int[]> counts)
    {
        var c = counts[method];
        for (var f = 0; f < truth.Length; f++)
        {
            c[0] += verdict.Accuracy[f].Lower <= truth[f] && truth[f] <= verdict.Accuracy[f].Upper ? 1 : 0;
            c[1]++;
        }

        for (var f = 1; f < truth.Length; f++)
        {
            var difference = truth[f] - truth[0];
            var (lower, upper) = verdict.Differences[f - 1];
            c[2] += lower - 1e-12 <= difference && difference <= upper + 1e-12 ? 1 : 0;
            c[3]++;
        }

        c[4] += verdict.Recommended == Formats[^1].Name ? 1 : 0;
    }

    private static Verdict PerCase(bool[][][] outcomes, RecommendSettings settings)
    {
        var cases = outcomes.Select(format => format.Select((repeats, i) => (Id: $"case-{i}", Tally: new CaseTally(repeats.Count(p => p), repeats.Length))).ToDictionary(c => c.Id, c => c.Tally)).ToList();
        var recommendation = FormatRecommendation.Recommend([.. Formats.Select((f, i) => new FormatOutcome(f.Name, f.Tokens, cases[i]))], settings);
        return new Verdict(
            [.. cases.Select(c => CaseAccuracy.Compute(c.Values)).Select(a => (a.Lower, a.Upper))],
            [.. cases.Skip(1).Select(c => PairedDifference.Compute(c.Keys.Select(k => (c[k], cases[0][k])))).Select(d => (d.Lower, d.Upper))],
            recommendation.Format);
    }

    private static Verdict PerCell(bool[][][] outcomes, RecommendSettings settings)
    {
        // Every (case, repeat) a trial of its own, as the report did before the case became the unit.
        var cells = outcomes.Select(format => format.SelectMany(r => r).ToArray()).ToArray();
        var accuracy = cells.Select(c => WilsonInterval.Compute(c.Count(p => p), c.Length)).ToArray();
        var differences = cells.Skip(1).Select(c => PairedDifference.Compute(c.Select((p, i) => (new CaseTally(p ? 1 : 0, 1), new CaseTally(cells[0][i] ? 1 : 0, 1))))).ToArray();
        var best = Enumerable.Range(0, cells.Length).OrderByDescending(f => accuracy[f].Proportion).ThenBy(f => Formats[f].Tokens).First();
        var pick = Enumerable.Range(0, cells.Length)
            .OrderBy(f => Formats[f].Tokens)
            .First(f =>
            {
                var test = McNemarTest.Compute(cells[f].Select((p, i) => (cells[best][i], p)));
                return !(test.PValue < settings.Alpha && test.OnlyFirstPassed > test.OnlySecondPassed);
            });
        return new Verdict([.. accuracy.Select(a => (a.Lower, a.Upper))], [.. differences.Select(d => (d.Lower, d.Upper))], Formats[pick].Name);
    }

    private static Verdict ClusteredT(bool[][][] outcomes, RecommendSettings settings)
    {
        var rates = outcomes.Select(format => format.Select(r => (double)r.Count(p => p) / r.Length).ToArray()).ToArray();
        var n = rates[0].Length;
        var t = Distributions.StudentTQuantile(0.975, n - 1);
        (double Mean, double Se) MeanSe(IReadOnlyList<double> values)
        {
            var mean = values.Average();
            return (mean, Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (n - 1) / n));
        }

        var accuracy = rates.Select(r => MeanSe(r)).Select(m => (Math.Max(0, m.Mean - t * m.Se), Math.Min(1, m.Mean + t * m.Se))).ToArray();
        var differences = rates.Skip(1).Select(r => MeanSe([.. r.Select((v, i) => v - rates[0][i])])).ToArray();

        // The cheapest format is recommended when its one-sided t lower bound against the most expensive is above −margin.
        var cheapest = differences[^1];
        var bound = cheapest.Mean - Distributions.StudentTQuantile(1 - settings.Alpha, n - 1) * cheapest.Se;
        return new Verdict(accuracy, [.. differences.Select(d => (d.Mean - t * d.Se, d.Mean + t * d.Se))], bound > -settings.Margin ? Formats[^1].Name : null);
    }
}
