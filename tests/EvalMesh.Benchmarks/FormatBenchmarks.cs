using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using EvalMesh.Evaluation.Formats;
using EvalMesh.Evaluation.Generation;

namespace EvalMesh.Benchmarks;

/// <summary>Time and bytes allocated to render the 100-message Slack dataset in each format.</summary>
[MemoryDiagnoser]
[ShortRunJob]
public class FormatBenchmarks
{
    private IReadOnlyList<JsonObject> _messages = [];
    private IRecordFormat _format = null!;

    [ParamsSource(nameof(Formats))]
    public string Format { get; set; } = "csv";

    public static IEnumerable<string> Formats => RecordFormats.Names;

    [GlobalSetup]
    public void Setup()
    {
        _messages = SlackGenerator.Generate(new SlackGeneratorOptions()).Messages;
        _format = RecordFormats.Get(Format);
    }

    [Benchmark]
    public string Render() => _format.Render(_messages);
}
