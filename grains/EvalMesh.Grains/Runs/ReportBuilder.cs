using EvalMesh.Abstractions;
using EvalMesh.Contracts;
using EvalMesh.Evaluation.Statistics;
using EvalMesh.Inference.Endpoints;

namespace EvalMesh.Grains.Runs;

/// <summary>
/// Builds a run's report from its stored results in one streaming pass: it keeps counts, token sums, latencies and
/// per-item pass/fail per matrix position, never the outputs.
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
        var categories = new Dictionary<(string Suite, string Format, string Endpoint, string Category), (int Passed, int Scored)>();
        await foreach (var result in results.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            var key = (result.Suite, result.Format, result.Endpoint);
            if (!positions.TryGetValue(key, out var position))
            {
                positions[key] = position = new Position();
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
            .Select(p => p.Value.Row(p.Key.Suite, p.Key.Format, p.Key.Endpoint))
            .ToList();
        var categoryRows = categories
            .OrderBy(c => c.Key.Suite, StringComparer.Ordinal).ThenBy(c => c.Key.Endpoint, StringComparer.Ordinal).ThenBy(c => c.Key.Format, StringComparer.Ordinal).ThenBy(c => c.Key.Category, StringComparer.Ordinal)
            .Select(c => new CategoryRow(c.Key.Suite, c.Key.Format, c.Key.Endpoint, c.Key.Category, c.Value.Passed, c.Value.Scored))
            .ToList();

        var comparisons = new List<FormatPair>();
        var recommendations = new List<Recommendation>();
        var costTokenizer = spec.Tokenizers.Count > 0 ? spec.Tokenizers[0] : ShardRunner.NativeTokenizer;
        foreach (var group in positions.GroupBy(p => (p.Key.Suite, p.Key.Endpoint)).OrderBy(g => g.Key.Suite, StringComparer.Ordinal).ThenBy(g => g.Key.Endpoint, StringComparer.Ordinal))
        {
            var formats = group.OrderBy(p => IndexOf(spec.Formats, p.Key.Format)).ToList();
            for (var i = 0; i < formats.Count; i++)
            {
                for (var j = i + 1; j < formats.Count; j++)
                {
                    var (a, b) = (formats[i].Value.Outcomes, formats[j].Value.Outcomes);
                    var test = McNemarTest.Compute(a.Where(o => b.ContainsKey(o.Key)).Select(o => (o.Value, b[o.Key])));
                    comparisons.Add(new FormatPair(group.Key.Suite, group.Key.Endpoint, formats[i].Key.Format, formats[j].Key.Format, test.OnlyFirstPassed, test.OnlySecondPassed, test.PValue));
                }
            }

            var outcomes = formats.Select(f => new FormatOutcome(f.Key.Format, f.Value.MeanTokens(costTokenizer), f.Value.Outcomes)).ToList();
            var recommendation = FormatRecommendation.Recommend(outcomes);
            recommendations.Add(new Recommendation(group.Key.Suite, group.Key.Endpoint, costTokenizer, recommendation.Format, recommendation.Best, recommendation.Reason));
        }

        var settings = new RunSettings(spec.Repeats, spec.CaseLimit, [.. spec.Endpoints.Select(e => new EndpointSettings(e.Name, ConfigNames.Of(e.Type), e.Model, e.Adapter, e.BaseUrl, e.MaxTokens, e.Temperature, e.TopP))]);
        return new RunReport(status, rows, categoryRows, comparisons, recommendations, Notes(status, spec), settings);
    }

    private static List<string> Notes(RunStatus status, RunSpec spec)
    {
        var notes = new List<string>();
        var smoke = spec.Endpoints.Where(e => e.Type == EndpointType.Llama && (e.Model ?? ModelCatalog.Tiny) == ModelCatalog.Tiny).Select(e => e.Name).ToList();
        if (smoke.Count > 0)
        {
            notes.Add($"Smoke model: {string.Join(", ", smoke)} use{(smoke.Count == 1 ? "s" : "")} the generated tiny model, whose weights are random. Its accuracy is near zero by construction: it proves the pipeline, not a model. Point 'model' at a real GGUF file or use an openai endpoint to measure a real model.");
        }

        if (spec.CaseLimit is { } limit)
        {
            notes.Add($"Limited: only the first {limit} case(s) of each suite ran. That is a quick look, not a measurement: run without the limit for figures to report.");
        }

        if (status.Errors > 0)
        {
            notes.Add($"{status.Errors} cell(s) ended in an error (no answer from the endpoint). Errors are reported apart from wrong answers and excluded from accuracy; 'evalmesh run --resume {status.RunId}' re-runs them.");
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

    private sealed class Position
    {
        private readonly Dictionary<string, long> _tokens = new(StringComparer.Ordinal);
        private readonly List<double> _latencies = [];
        private int _cells;
        private int _passed;
        private int _failed;
        private int _errors;
        private long _completion;
        private int _withCompletion;

        // Pass/fail per (case, repeat), the pairing key for McNemar across formats; errors are left out.
        public Dictionary<string, bool> Outcomes { get; } = new(StringComparer.Ordinal);

        public void Add(CellResult result)
        {
            _cells++;
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

            Outcomes[$"{result.CaseId}\u0001{result.Repeat}"] = result.Outcome == CellOutcome.Passed;
            _latencies.Add(result.LatencyMs);
            foreach (var (tokenizer, count) in result.PromptTokens)
            {
                _tokens[tokenizer] = _tokens.GetValueOrDefault(tokenizer) + count;
            }

            if (result.CompletionTokens is { } completion)
            {
                _completion += completion;
                _withCompletion++;
            }
        }

        public double MeanTokens(string tokenizer)
        {
            var scored = _passed + _failed;
            return scored == 0 ? 0 : (double)_tokens.GetValueOrDefault(tokenizer) / scored;
        }

        public ReportRow Row(string suite, string format, string endpoint)
        {
            var scored = _passed + _failed;
            var wilson = WilsonInterval.Compute(_passed, scored);
            return new ReportRow(
                suite,
                format,
                endpoint,
                _cells,
                _passed,
                _failed,
                _errors,
                wilson.Proportion,
                wilson.Lower,
                wilson.Upper,
                _tokens.Keys.Order(StringComparer.Ordinal).ToDictionary(t => t, MeanTokens, StringComparer.Ordinal),
                _withCompletion == 0 ? null : (double)_completion / _withCompletion,
                _latencies.Count == 0 ? 0 : Percentiles.Of(_latencies, 50),
                _latencies.Count == 0 ? 0 : Percentiles.Of(_latencies, 95));
        }
    }
}
