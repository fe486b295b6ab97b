using System.Globalization;
using System.Text;
using System.Xml;
using EvalMesh.Abstractions;

namespace EvalMesh.Client;

/// <summary>
/// A run as JUnit XML, the format CI systems read: a test suite per (suite, endpoint, format), a test case per cell;
/// failed cells are failures, errored cells errors, with the scorer's reason as the message and the output as the text.
/// </summary>
internal static class JUnitReport
{
    public static string Write(ReportDocument document)
    {
        var run = document.Report.Run;
        // Written as UTF-8 by the caller; a StringBuilder's writer would declare UTF-16.
        var text = new StringBuilder("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        using (var xml = XmlWriter.Create(text, new XmlWriterSettings { Indent = true, OmitXmlDeclaration = true }))
        {
            xml.WriteStartElement("testsuites");
            xml.WriteAttributeString("name", $"EvalMesh run {run.RunId}");
            Counts(xml, document.Cells);
            foreach (var group in document.Cells.GroupBy(c => (c.Suite, c.Endpoint, c.Format)))
            {
                xml.WriteStartElement("testsuite");
                xml.WriteAttributeString("name", $"{group.Key.Suite} / {group.Key.Endpoint} / {group.Key.Format}");
                Counts(xml, [.. group]);
                foreach (var cell in group)
                {
                    xml.WriteStartElement("testcase");
                    xml.WriteAttributeString("classname", Clean($"{cell.Suite}.{cell.Endpoint}.{cell.Format}"));
                    xml.WriteAttributeString("name", Clean($"{cell.CaseId} #{cell.Repeat}"));
                    xml.WriteAttributeString("time", Seconds(cell.LatencyMs));
                    if (cell.Outcome != CellOutcome.Passed)
                    {
                        xml.WriteStartElement(cell.Outcome == CellOutcome.Failed ? "failure" : "error");
                        xml.WriteAttributeString("message", Clean(cell.Reason));
                        xml.WriteAttributeString("type", cell.Outcome == CellOutcome.Failed ? cell.Scorer : "error");
                        xml.WriteString(Clean($"expected: {string.Join(" | ", cell.Expected)}\noutput: {cell.Output}"));
                        xml.WriteEndElement();
                    }

                    xml.WriteEndElement();
                }

                xml.WriteEndElement();
            }

            xml.WriteEndElement();
        }

        return text.ToString();
    }

    private static void Counts(XmlWriter xml, IReadOnlyCollection<CellResult> cells)
    {
        xml.WriteAttributeString("tests", cells.Count.ToString(CultureInfo.InvariantCulture));
        xml.WriteAttributeString("failures", cells.Count(c => c.Outcome == CellOutcome.Failed).ToString(CultureInfo.InvariantCulture));
        xml.WriteAttributeString("errors", cells.Count(c => c.Outcome == CellOutcome.Error).ToString(CultureInfo.InvariantCulture));
        xml.WriteAttributeString("time", Seconds(cells.Sum(c => c.LatencyMs)));
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
}
