using System.Text;
using System.Text.Json.Nodes;
using System.Xml;

namespace EvalMesh.Evaluation.Formats;

/// <summary>
/// <c>xml</c>: <c>&lt;records&gt;&lt;record&gt;…</c> with one element per key (nested objects nest, arrays hold
/// <c>&lt;item&gt;</c> elements). A key that is not a valid XML name becomes <c>&lt;field name="…"&gt;</c>.
/// </summary>
public sealed class XmlFormat : IRecordFormat
{
    private static readonly XmlWriterSettings Settings = new()
    {
        Indent = true,
        IndentChars = "  ",
        NewLineChars = "\n",
        OmitXmlDeclaration = true,
        ConformanceLevel = ConformanceLevel.Document,
    };

    /// <inheritdoc />
    public string Name => "xml";

    /// <inheritdoc />
    public string Render(IReadOnlyList<JsonObject> records)
    {
        var text = new StringBuilder();
        using (var writer = XmlWriter.Create(text, Settings))
        {
            writer.WriteStartElement("records");
            foreach (var record in records)
            {
                WriteElement(writer, "record", record);
            }

            writer.WriteEndElement();
        }

        return text.ToString();
    }

    private static void WriteElement(XmlWriter writer, string name, JsonNode? node)
    {
        if (IsXmlName(name))
        {
            writer.WriteStartElement(name);
        }
        else
        {
            writer.WriteStartElement("field");
            writer.WriteAttributeString("name", XmlSafe(name));
        }

        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, value) in obj)
                {
                    WriteElement(writer, key, value);
                }

                break;
            case JsonArray array:
                foreach (var item in array)
                {
                    WriteElement(writer, "item", item);
                }

                break;
            case null:
                writer.WriteAttributeString("null", "true");
                break;
            default:
                writer.WriteString(XmlSafe(JsonText.Scalar(node)));
                break;
        }

        writer.WriteEndElement();
    }

    private static bool IsXmlName(string name)
    {
        if (name.Length == 0 || name.StartsWith("xml", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        try
        {
            XmlConvert.VerifyNCName(name);
            return true;
        }
        catch (XmlException)
        {
            return false;
        }
    }

    // XML 1.0 cannot carry most control characters even escaped; replace them rather than fail the whole render.
    private static string XmlSafe(string text)
    {
        if (text.AsSpan().IndexOfAnyInRange('\0', '\u001f') < 0 && text.AsSpan().IndexOfAnyInRange('\ud800', '\uffff') < 0)
        {
            return text;
        }

        var safe = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsSurrogatePair(text, i))
            {
                safe.Append(text, i++, 2);
            }
            else
            {
                safe.Append(XmlConvert.IsXmlChar(text[i]) ? text[i] : '\uFFFD');
            }
        }

        return safe.ToString();
    }
}
