using System.Text.Json.Nodes;

namespace EvalMesh.Evaluation.Formats;

/// <summary>Renders a list of records as the context text a model reads. Implementations are pure and deterministic.</summary>
public interface IRecordFormat
{
    /// <summary>The name used in configuration and on the command line, such as <c>oneline-json</c>.</summary>
    string Name { get; }

    /// <summary>Renders the records.</summary>
    string Render(IReadOnlyList<JsonObject> records);
}

/// <summary>A format whose text parses back to the records it was rendered from.</summary>
public interface IRecordParser
{
    /// <summary>Parses rendered text back to records.</summary>
    /// <exception cref="EvalMeshInputException">The text is not valid in this format.</exception>
    IReadOnlyList<JsonObject> Parse(string text);
}
