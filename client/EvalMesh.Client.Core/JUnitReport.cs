using System.Globalization;
using System.Text;
using System.Xml;
using EvalMesh.Abstractions;

namespace EvalMesh.Client;

/// <summary>
/// A run as JUnit XML, the format CI systems read: a test suite per (suite, endpoint, format), a test case per cell;
/// failed cells are failures, errored cells errors, with the scorer's reason as the message and the output as the text.
/// Every cell is in it, however many: cells are read once from the run's results and set aside in a temporary file,
/// with only their places kept in memory, then written suite by suite.
/// </summary>
internal static class JUnitReport
{
    public static async Task WriteAsync(IEvalMeshClient client, string runId, Stream output, CancellationToken cancellationToken)
    {
        await using var spill = new FileStream(Path.GetTempFileName(), FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose);
        var suites = new Dictionary<(string Suite, string Endpoint, string Format), TestSuite>();
        var order = new List<TestSuite>();
        using (var cells = new BinaryWriter(spill, Encoding.UTF8, leaveOpen: true))
        {
            await foreach (var cell in client.GetResultsAsync(runId, cancellationToken).ConfigureAwait(false))
            {
                if (!suites.TryGetValue((cell.Suite, cell.Endpoint, cell.Format), out var suite))
                {
                    order.Add(suites[(cell.Suite, cell.Endpoint, cell.Format)] = suite = new TestSuite(cell.Suite, cell.Endpoint, cell.Format));
                }

                suite.Add(spill.Position, cell);
                TestCase.From(ReportDocument.Cut(cell)).Write(cells);
            }
        }

        using var reader = new BinaryReader(spill, Encoding.UTF8, leaveOpen: true);
        // UTF-8 without a byte order mark, as CI systems expect.
        using var xml = XmlWriter.Create(output, new XmlWriterSettings { Indent = true, Encoding = new UTF8Encoding(false) });
        xml.WriteStartDocument();
        xml.WriteStartElement("testsuites");
        xml.WriteAttributeString("name", $"EvalMesh run {runId}");
        Counts(xml, order.Sum(s => s.Places.Count), order.Sum(s => s.Failures), order.Sum(s => s.Errors), order.Sum(s => s.Milliseconds));
        foreach (var suite in order)
        {
            cancellationToken.ThrowIfCancellationRequested();
            xml.WriteStartElement("testsuite");
            xml.WriteAttributeString("name", $"{suite.Suite} / {suite.Endpoint} / {suite.Format}");
            Counts(xml, suite.Places.Count, suite.Failures, suite.Errors, suite.Milliseconds);
            var classname = Clean($"{suite.Suite}.{suite.Endpoint}.{suite.Format}");
            foreach (var place in suite.Places)
            {
                spill.Position = place;
                TestCase.Read(reader).Write(xml, classname);
            }

            xml.WriteEndElement();
        }

        xml.WriteEndElement();
    }

    private static void Counts(XmlWriter xml, int tests, int failures, int errors, double milliseconds)
    {
        xml.WriteAttributeString("tests", tests.ToString(CultureInfo.InvariantCulture));
        xml.WriteAttributeString("failures", failures.ToString(CultureInfo.InvariantCulture));
        xml.WriteAttributeString("errors", errors.ToString(CultureInfo.InvariantCulture));
        xml.WriteAttributeString("time", Seconds(milliseconds));
    }

    private static string Seconds(double milliseconds) => (milliseconds / 1000).ToString("0.###", CultureInfo.InvariantCulture);

    // Model output can hold characters XML 1.0 cannot (control characters, lone surrogates): they become U+FFFD.
    private static string Clean(string value)
    {
        var text = new StringBuilder(value.Length);
        for (var i = 0; i < value.Length; i++)
        {
            if (char.IsHighSurrogate(value[i]) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                text.Append(value, i++, 2);
            }
            else
            {
                text.Append(XmlConvert.IsXmlChar(value[i]) ? value[i] : '\uFFFD');
            }
        }

        return text.ToString();
    }

    /// <summary>One (suite, endpoint, format): its counts, and where its cells are in the temporary file.</summary>
    private sealed class TestSuite(string suite, string endpoint, string format)
    {
        public string Suite => suite;

        public string Endpoint => endpoint;

        public string Format => format;

        public List<long> Places { get; } = [];

        public int Failures { get; private set; }

        public int Errors { get; private set; }

        public double Milliseconds { get; private set; }

        public void Add(long place, CellResult cell)
        {
            Places.Add(place);
            Failures += cell.Outcome == CellOutcome.Failed ? 1 : 0;
            Errors += cell.Outcome == CellOutcome.Error ? 1 : 0;
            Milliseconds += cell.LatencyMs;
        }
    }

    /// <summary>What a test case element says about a cell; a passed cell has no problem.</summary>
    private sealed record TestCase(string Name, double Milliseconds, string? Problem, string Message, string Type, string Text)
    {
        public static TestCase From(CellResult cell) => cell.Outcome == CellOutcome.Passed
            ? new TestCase($"{cell.CaseId} #{cell.Repeat}", cell.LatencyMs, null, string.Empty, string.Empty, string.Empty)
            : new TestCase(
                $"{cell.CaseId} #{cell.Repeat}",
                cell.LatencyMs,
                cell.Outcome == CellOutcome.Failed ? "failure" : "error",
                cell.Reason,
                cell.Outcome == CellOutcome.Failed ? cell.Scorer : "error",
                $"expected: {string.Join(" | ", cell.Expected)}\noutput: {cell.Output}");

        public static TestCase Read(BinaryReader reader)
        {
            var (name, milliseconds) = (reader.ReadString(), reader.ReadDouble());
            return reader.ReadBoolean()
                ? new TestCase(name, milliseconds, reader.ReadString(), reader.ReadString(), reader.ReadString(), reader.ReadString())
                : new TestCase(name, milliseconds, null, string.Empty, string.Empty, string.Empty);
        }

        public void Write(BinaryWriter writer)
        {
            writer.Write(Name);
            writer.Write(Milliseconds);
            writer.Write(Problem is not null);
            if (Problem is not null)
            {
                writer.Write(Problem);
                writer.Write(Message);
                writer.Write(Type);
                writer.Write(Text);
            }
        }

        public void Write(XmlWriter xml, string classname)
        {
            xml.WriteStartElement("testcase");
            xml.WriteAttributeString("classname", classname);
            xml.WriteAttributeString("name", Clean(Name));
            xml.WriteAttributeString("time", Seconds(Milliseconds));
            if (Problem is not null)
            {
                xml.WriteStartElement(Problem);
                xml.WriteAttributeString("message", Clean(Message));
                xml.WriteAttributeString("type", Type);
                xml.WriteString(Clean(Text));
                xml.WriteEndElement();
            }

            xml.WriteEndElement();
        }
    }
}
