using System.Text;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using EvalMesh.Evaluation.Configuration;
using EvalMesh.Evaluation.Formats;
using EvalMesh.Evaluation.Generation;
using EvalMesh.Evaluation.Tokenization;

namespace EvalMesh.Benchmarks;

/// <summary>
/// Token counting throughput (MB/s of UTF-8 input) and the whole token study: 8 formats × 2 tokenizers over the
/// 100-message Slack dataset, after warm-up (the tokenizers' vocabularies are loaded in setup); and one cell's prompt,
/// counted as its shared head and its question.
/// </summary>
[MemoryDiagnoser]
[ShortRunJob]
[Config(typeof(ThroughputConfig))]
public class TokenBenchmarks
{
    private static readonly IReadOnlyList<Evaluation.Formats.IRecordFormat> AllFormats = RecordFormats.All;
    private string _prettyJson = string.Empty;
    private IReadOnlyList<System.Text.Json.Nodes.JsonObject> _messages = [];
    private ITokenCounter[] _tokenizers = [];
    private string _promptHead = string.Empty;
    private string _promptTail = string.Empty;

    // BenchmarkDotNet measures in a child process and reports in this one, so the byte counts are recomputed here.
    private static readonly Lazy<Dictionary<string, long>> BytesPerCall = new(() =>
    {
        var messages = SlackGenerator.Generate(new SlackGeneratorOptions()).Messages;
        var prettyJson = Encoding.UTF8.GetByteCount(RecordFormats.Get("pretty-json").Render(messages));
        return new Dictionary<string, long>
        {
            [nameof(CountO200kBase)] = prettyJson,
            [nameof(CountCl100kBase)] = prettyJson,
            [nameof(AllFormatsAllTokenizers)] = AllFormats.Sum(f => (long)Encoding.UTF8.GetByteCount(f.Render(messages))) * TokenizerRegistry.BuiltInNames.Count,
        };
    });

    [GlobalSetup]
    public void Setup()
    {
        var dataset = SlackGenerator.Generate(new SlackGeneratorOptions());
        _messages = dataset.Messages;
        _prettyJson = RecordFormats.Get("pretty-json").Render(_messages);
        _tokenizers = [.. TokenizerRegistry.BuiltInNames.Select(TokenizerRegistry.Shared.Get)];
        foreach (var tokenizer in _tokenizers)
        {
            tokenizer.CountTokens("warm up");
        }

        // The default prompt cut right after the dataset: the head every cell of a format shares, and one cell's tail.
        const string Context = "{{context}}";
        var template = EvalConfig.DefaultPrompt;
        var cut = template.IndexOf(Context, StringComparison.Ordinal) + Context.Length;
        _promptHead = template[..cut].Replace("{{format}}", "pretty-json", StringComparison.Ordinal).Replace(Context, _prettyJson, StringComparison.Ordinal);
        _promptTail = template[cut..].Replace("{{question}}", dataset.Suite.Cases[0].Question, StringComparison.Ordinal);
    }

    [Benchmark]
    public int CountO200kBase() => _tokenizers[0].CountTokens(_prettyJson);

    [Benchmark]
    public int CountCl100kBase() => _tokenizers[1].CountTokens(_prettyJson);

    /// <summary>
    /// One cell's prompt tokens: the pretty-json head, remembered after the first call as in a run, and one question.
    /// </summary>
    [Benchmark]
    public int CountO200kBasePromptHeadAndQuestion() => _tokenizers[0].CountTokens(_promptHead, _promptTail);

    /// <summary>Render 8 formats and count each under 2 tokenizers: the 20 ms goal.</summary>
    [Benchmark]
    public int AllFormatsAllTokenizers() => TokenStudy.Measure(_messages, AllFormats, _tokenizers).Sum(c => c.Tokens.Count);

    private sealed class ThroughputConfig : ManualConfig
    {
        public ThroughputConfig() => AddColumn(new MegabytesPerSecondColumn());
    }

    private sealed class MegabytesPerSecondColumn : IColumn
    {
        public string Id => "MBps";

        public string ColumnName => "MB/s";

        public bool AlwaysShow => true;

        public ColumnCategory Category => ColumnCategory.Custom;

        public int PriorityInCategory => 0;

        public bool IsNumeric => true;

        public UnitType UnitType => UnitType.Dimensionless;

        public string Legend => "Megabytes (10^6) of UTF-8 input tokenized per second";

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            var report = summary[benchmarkCase];
            var method = benchmarkCase.Descriptor.WorkloadMethod.Name;
            if (report?.ResultStatistics is not { } stats || !BytesPerCall.Value.TryGetValue(method, out var bytes))
            {
                return "-";
            }

            return (bytes / (stats.Mean / 1e9) / 1e6).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture);
        }

        public bool IsAvailable(Summary summary) => true;

        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    }
}
