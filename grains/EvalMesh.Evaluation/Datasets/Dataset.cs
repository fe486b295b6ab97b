using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using EvalMesh.Evaluation.Formats;

namespace EvalMesh.Evaluation.Datasets;

/// <summary>Ordered records, content-addressed: the id is a hash of the records' canonical one-line JSON.</summary>
public sealed class Dataset
{
    private Dataset(string id, string name, IReadOnlyList<JsonObject> records)
    {
        Id = id;
        Name = name;
        Records = records;
    }

    /// <summary>The first 16 hex digits of the SHA-256 of the records as one-line JSON.</summary>
    public string Id { get; }

    /// <summary>A name for people.</summary>
    public string Name { get; }

    /// <summary>The records in order.</summary>
    public IReadOnlyList<JsonObject> Records { get; }

    /// <summary>Builds a dataset and computes its id.</summary>
    public static Dataset Create(string name, IReadOnlyList<JsonObject> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var canonical = RecordFormats.Get("oneline-json").Render(records);
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(canonical));
        return new Dataset(Convert.ToHexStringLower(hash)[..16], name, records);
    }
}
