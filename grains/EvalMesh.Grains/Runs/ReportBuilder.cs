using System.Globalization;
using EvalMesh.Abstractions;
using EvalMesh.Contracts;
using EvalMesh.Evaluation.Statistics;

namespace EvalMesh.Grains.Runs;

/// <summary>
/// Builds a run's report from its stored results in one streaming pass: it keeps counts, token sums, latencies and
/// passes per case per matrix position, never the outputs. A case is the statistics' unit: accuracy is the mean of the
/// cases' pass rates, formats are paired by case, and the recommendation is a non-inferiority decision.
/// </summary>
public static class ReportBuilder
{
    /// <summary>Builds the report.</summary>
    public static async Task<RunReport> BuildAsync(RunStatus status, RunSpec spec, IAsyncEnumerable<CellResult> results, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(status);
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(results);
        var positions = new Dictionary<(string Suite, string Format, string Endpoint), Position>();
        var prices = spec.Endpoints.Where(e => e.Cost is not null).ToDictionary(e => e.Name, e => e.Cost!, StringComparer.Ordinal);
        var categories = new Dictionary<(string Suite, string Format, string Endpoint, string Category), (int Passed, int Scored)>();
        await foreach (var result in results.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            var key = (result.Suite, result.Format, result.Endpoint);
            if (!positions.TryGetValue(key, out var position))
            {
                positions[key] = position = new Position(prices.GetValueOrDefault(result.Endpoint));
            }

            position.Add(result);
            if (result.Outcome != CellOutcome.Error)
            {
                foreach (var tag in result.Tags)
                {
                    var c = categories.GetValueOrDefault((result.Suite, result.Format, result.Endpoint, tag));
                    categories[(result.Suite, result.Format, result.Endpoint, tag)] = (c.Passed + (result.Outcome == CellOutcome.Passed ? 1 : 0), c.Scored + 1);
                }
            }
        }

        var rows = positions
            .OrderBy(p => p.Key.Suite, StringComparer.Ordinal)
            .ThenBy(p => IndexOf(spec.Endpoints.Select(e => e.Name), p.Key.Endpoint))
            .ThenBy(p => IndexOf(spec.Formats, p.Key.Format))
            .Select(p => p.Value.Row(p.Key.Suite, p.Key.Format, p.Key.Endpoint, spec.Repeats))
            .ToList();
        var categoryRows = categories
            .OrderBy(c => c.Key.Suite, StringComparer.Ordinal).ThenBy(c => c.Key.Endpoint, StringComparer.Ordinal).ThenBy(c => c.Key.Format, StringComparer.Ordinal).ThenBy(c => c.Key.Category, StringComparer.Ordinal)
            .Select(c => new CategoryRow(c.Key.Suite, c.Key.Format, c.Key.Endpoint, c.Key.Category, c.Value.Passed, c.Value.Scored))
            .ToList();

        var comparisons = new List<FormatPair>();
        var recommendations = new List<Recommendation>();
        var costTokenizer = spec.Tokenizers.Count > 0 ? spec.Tokenizers[0] : ShardRunner.NativeTokenizer;
        var recommend = spec.Recommend ?? RecommendSettings.Default;
        foreach (var group in positions.GroupBy(p => (p.Key.Suite, p.Key.Endpoint)).OrderBy(g => g.Key.Suite, StringComparer.Ordinal).ThenBy(g => g.Key.Endpoint, StringComparer.Ordinal))
        {
            var formats = group.OrderBy(p => IndexOf(spec.Formats, p.Key.Format)).ToList();
            for (var i = 0; i < formats.Count; i++)
            {
                for (var j = i + 1; j < formats.Count; j++)
                {
                    var (a, b) = (formats[i].Value.Cases, formats[j].Value.Cases);
                    var d = PairedDifference.Compute(a.Where(c => b.ContainsKey(c.Key)).Select(c => (c.Value, b[c.Key])));
                    comparisons.Add(new FormatPair(group.Key.Suite, group.Key.Endpoint, formats[i].Key.Format, formats[j].Key.Format, d.FirstBetter, d.SecondBetter, d.PValueTwoSided(), d.Cases, d.Difference, d.Lower, d.Upper));
                }
            }

            var outcomes = formats.Select(f => new FormatOutcome(f.Key.Format, f.Value.MeanTokens(costTokenizer), f.Value.Cases)).ToList();
            var r = FormatRecommendation.Recommend(outcomes, recommend);
            var standings = r.Comparisons.Select(c => new FormatStandingRow(c.Format, c.MeanPromptTokens, c.Accuracy.Accuracy, c.Accuracy.Lower, c.Accuracy.Upper, c.VersusBest?.Difference, c.VersusBest?.Lower, c.VersusBest?.Upper, c.PValue, c.Standing)).ToList();
            recommendations.Add(new Recommendation(group.Key.Suite, group.Key.Endpoint, costTokenizer, r.Format, r.Best, r.Reason, r.Verdict, r.CasesNeeded, standings));
        }

        var settings = new RunSettings(spec.Repeats, spec.CaseLimit, [.. spec.Endpoints.Select(e => new EndpointSettings(e.Name, ConfigNames.Of(e.Type), e.Model, e.Adapter, e.BaseUrl, e.MaxTokens, e.Temperature, e.TopP, e.Cost, e.RateLimit))], recommend);
        var cost = rows.Any(r => r.Cost is not null) ? rows.Sum(r => r.Cost ?? 0) : (double?)null;
        return new RunReport(status, rows, categoryRows, comparisons, recommendations, Notes(status, spec, rows), settings, cost);
    }

    private static List<string> Notes(RunStatus status, RunSpec spec, IReadOnlyList<ReportRow> rows)
    {
        var notes = new List<string>();
        var smoke = spec.Endpoints.Where(e => e.Type == EndpointType.Llama && e.Model == BuiltInModels.TinyRandom).Select(e => e.Name).ToList();
        if (smoke.Count > 0)
        {
            notes.Add($"Smoke model: {string.Join(", ", smoke)} use{(smoke.Count == 1 ? "s" : "")} the tiny model with random weights (tiny-random). Its accuracy is near zero by construction: it proves the pipeline, not a model. Point 'model' at a real GGUF file or use an openai endpoint to measure a real model.");
        }

        foreach (var suite in spec.Suites.Where(s => s.Context is not null))
        {
            var recall = suite.ContextRecall is { } share
                ? string.Create(CultureInfo.InvariantCulture, $"; those records held {share:P0} of the records the expected answers need (recall, averaged over the cases)")
                : string.Empty;
            notes.Add($"Retrieved contexts: each question of suite '{suite.Name}' was given its own records ({suite.Context}), not the whole dataset{recall}. Accuracy there measures retrieval and reading together.");
        }

        if (spec.CaseLimit is { } limit)
        {
            notes.Add($"Limited: only the first {limit} case(s) of each suite ran. That is a quick look, not a measurement: run without the limit for figures to report.");
        }

        if (status.Errors > 0)
        {
            notes.Add($"{status.Errors} cell(s) ended in an error (no answer from the endpoint). Errors are reported apart from wrong answers and excluded from accuracy; 'evalmesh run --resume {status.RunId}' re-runs them.");
        }

        if (rows.Where(r => r.CasesOnlyErrors > 0).ToList() is { Count: > 0 } erred)
        {
            notes.Add($"Cases with only errors are left out of accuracy: {string.Join(", ", erred.Select(r => $"{r.CasesOnlyErrors} for {r.Endpoint} in {r.Format} ({r.Suite})"))}.");
        }

        if (status.State != RunState.Completed)
        {
            notes.Add($"The run is {status.State.ToString().ToLowerInvariant()}: {status.Completed} of {status.Total} cells have results, and this report covers only those.");
        }

        return notes;
    }

    private static int IndexOf(IEnumerable<string> names, string name)
    {
        var index = names.ToList().IndexOf(name);
        return index < 0 ? int.MaxValue : index;
    }

    // A matrix position's tallies; with the endpoint's price, also the cost of each cell the endpoint answered. Prompt
    // tokens are a prompt's, whatever became of the cell: each tokenizer's mean is over the cells it counted.
    private sealed class Position(EndpointPrice? price)
    {
        private readonly Dictionary<string, (long Tokens, int Cells)> _tokens = new(StringComparer.Ordinal);
        private readonly List<double> _latencies = [];
        private int _cells;
        private int _passed;
        private int _failed;
        private int _errors;
        private long _completion;
        private int _withCompletion;
        private double _cost;
        private int _priced;

        // Passes and scored repeats per case, the unit of accuracy and the pairing key across formats; errors are left
        // out, so a case seen only with errors is in _seen and not here.
        private readonly HashSet<string> _seen = new(StringComparer.Ordinal);

        public Dictionary<string, CaseTally> Cases { get; } = new(StringComparer.Ordinal);

        public void Add(CellResult result)
        {
            _cells++;
            _seen.Add(result.CaseId);
            if (price is not null && result.CompletionTokens is { } answered && result.PromptTokens.TryGetValue(ShardRunner.NativeTokenizer, out var native))
            {
                _cost += price.Of(native, answered);
                _priced++;
            }

            foreach (var (tokenizer, count) in result.PromptTokens)
            {
                var (tokens, cells) = _tokens.GetValueOrDefault(tokenizer);
                _tokens[tokenizer] = (tokens + count, cells + 1);
            }

            switch (result.Outcome)
            {
                case CellOutcome.Passed:
                    _passed++;
                    break;
                case CellOutcome.Failed:
                    _failed++;
                    break;
                default:
                    _errors++;
                    return;
            }

            Cases[result.CaseId] = Cases.GetValueOrDefault(result.CaseId).Add(result.Outcome == CellOutcome.Passed);
            _latencies.Add(result.LatencyMs);

            if (result.CompletionTokens is { } completion)
            {
                _completion += completion;
                _withCompletion++;
            }
        }

        public double MeanTokens(string tokenizer) => _tokens.TryGetValue(tokenizer, out var sum) ? (double)sum.Tokens / sum.Cells : 0;

        public ReportRow Row(string suite, string format, string endpoint, int repeats)
        {
            var accuracy = CaseAccuracy.Compute(Cases.Values);
            return new ReportRow(
                suite,
                format,
                endpoint,
                _cells,
                _passed,
                _failed,
                _errors,
                accuracy.Accuracy,
                accuracy.Lower,
                accuracy.Upper,
                _tokens.Keys.Order(StringComparer.Ordinal).ToDictionary(t => t, MeanTokens, StringComparer.Ordinal),
                _withCompletion == 0 ? null : (double)_completion / _withCompletion,
                _latencies.Count == 0 ? 0 : Percentiles.Of(_latencies, 50),
                _latencies.Count == 0 ? 0 : Percentiles.Of(_latencies, 95),
                accuracy.Cases,
                _seen.Count - Cases.Count,
                accuracy.EffectiveCases,
                accuracy.Method,
                repeats > 1 ? accuracy.UnstableShare : null,
                _priced == 0 ? null : _cost,
                _priced == 0 ? null : _cost / _priced);
        }
    }
}
