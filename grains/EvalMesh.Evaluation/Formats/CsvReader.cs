using System.Text;

namespace EvalMesh.Evaluation.Formats;

/// <summary>An RFC 4180 reader: quoted fields may hold commas, doubled quotes and line breaks; CRLF or LF ends a row.</summary>
internal static class CsvReader
{
    public sealed record Row(int Line, IReadOnlyList<string> Cells);

    public static IReadOnlyList<Row> Read(string text, string source)
    {
        var rows = new List<Row>();
        var cells = new List<string>();
        var cell = new StringBuilder();
        var line = 1;
        var rowLine = 1;
        var i = 0;
        var rowHasContent = false;
        while (i < text.Length)
        {
            var c = text[i];
            if (c == '"' && cell.Length == 0)
            {
                var quoteLine = line;
                i++;
                while (true)
                {
                    if (i >= text.Length)
                    {
                        throw new EvalMeshInputException("unbalanced quotes: a quoted field is never closed", source, quoteLine);
                    }

                    if (text[i] == '"')
                    {
                        if (i + 1 < text.Length && text[i + 1] == '"')
                        {
                            cell.Append('"');
                            i += 2;
                            continue;
                        }

                        i++;
                        break;
                    }

                    if (text[i] == '\n')
                    {
                        line++;
                    }

                    cell.Append(text[i++]);
                }

                if (i < text.Length && text[i] is not (',' or '\r' or '\n'))
                {
                    throw new EvalMeshInputException($"unexpected '{text[i]}' after a closing quote", source, line);
                }

                rowHasContent = true;
                continue;
            }

            if (c == '"')
            {
                throw new EvalMeshInputException("a quote inside an unquoted field (quote the whole field and double the quote)", source, line);
            }

            if (c == ',')
            {
                cells.Add(cell.ToString());
                cell.Clear();
                rowHasContent = true;
                i++;
                continue;
            }

            if (c is '\r' or '\n')
            {
                i += c == '\r' && i + 1 < text.Length && text[i + 1] == '\n' ? 2 : 1;
                EndRow();
                line++;
                rowLine = line;
                continue;
            }

            cell.Append(c);
            rowHasContent = true;
            i++;
        }

        EndRow();
        return rows;

        void EndRow()
        {
            if (rowHasContent || cell.Length > 0)
            {
                cells.Add(cell.ToString());
                rows.Add(new Row(rowLine, [.. cells]));
            }

            cells.Clear();
            cell.Clear();
            rowHasContent = false;
        }
    }
}
