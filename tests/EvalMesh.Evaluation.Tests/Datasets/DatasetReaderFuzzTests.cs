using System.Text;
using CsCheck;
using EvalMesh.Evaluation.Datasets;
using EvalMesh.Evaluation.Formats;
using EvalMesh.Testing;

namespace EvalMesh.Evaluation.Tests.Datasets;

/// <summary>
/// The dataset reader (JSON Lines, JSON, CSV) fed random bytes and valid files with edits (syntax, duplicate keys, deep
/// nesting, BOMs, invalid UTF-8): it reads records that every format can render, or throws
/// <see cref="EvalMeshInputException"/>, nothing else.
/// </summary>
public sealed class DatasetReaderFuzzTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("evalmesh-dataset-fuzz-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static readonly Gen<(string Extension, byte[] Content)> Valid = Gen.Select(Gen.OneOf(".jsonl", ".json", ".csv"), RecordGenerators.Records)
        .Select(sample => (sample.Item1, Encoding.UTF8.GetBytes(sample.Item1 switch
        {
            ".jsonl" => string.Join('\n', sample.Item2.Select(record => record.ToJsonString())),
            ".json" => RecordFormats.Get("pretty-json").Render(sample.Item2),
            _ => RecordFormats.Get("csv").Render(sample.Item2),
        })));

    private static readonly Gen<byte[]> Token = Gen.OneOf(
        Gen.OneOf("\"", ",", "\n", "\r", "\r\n", "{", "}", "[", "]", ":", "\\", "\\u", "\\ud800", "1e999", "-", "null", "\"a\":1,\"a\":2",
            "{\"a\":1,\"a\":2}\n", "{\"a\":1,\"a.b\":2}\n", "a,a.b\n1,2\n", "a.b,a\n1,2\n", ".", "..", "\0", "日本語", "😀",
            new string('[', 70), new string('{', 70), new string('x', 5000)).Select(Encoding.UTF8.GetBytes),
        Gen.OneOf<byte[]>([0xEF, 0xBB, 0xBF], [0xFF, 0xFE], [0xFE, 0xFF], [0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80]),
        Gen.Byte.Array[1, 8]);

    private static readonly Gen<(string Extension, byte[] Content)> Input = Gen.Frequency(
        (1, Gen.Select(Gen.OneOf(".jsonl", ".json", ".csv", ".ndjson", ".txt"), Gen.Byte.Array[0, 200])),
        (4, Valid.SelectMany(valid => Gen.Const(valid.Content).Mutated(Token).Select(content => (valid.Extension, content)))));

    [Fact]
    public void Read_AnyFile_ReadsOrThrowsEvalMeshInputException() => Fuzz.Parser(
        Input,
        input =>
        {
            var path = Path.Combine(_folder, $"{Environment.CurrentManagedThreadId}{input.Extension}");
            File.WriteAllBytes(path, input.Content);
            var dataset = DatasetReader.Read(path);
            foreach (var format in RecordFormats.All)
            {
                format.Render(dataset.Records);
            }
        },
        ciIterations: 3_000,
        [typeof(EvalMeshInputException)],
        input => $"{input.Extension}: {Encoding.UTF8.GetString(input.Content)}");
}
