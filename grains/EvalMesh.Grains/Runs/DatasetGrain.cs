using System.Text.Json.Nodes;
using EvalMesh.Abstractions;
using EvalMesh.Evaluation.Datasets;
using EvalMesh.Evaluation.Formats;

namespace EvalMesh.Grains.Runs;

/// <summary>Persisted state of a dataset grain.</summary>
[GenerateSerializer, Alias("evalmesh.dataset-state")]
public sealed class DatasetState
{
    /// <summary>The dataset's name.</summary>
    [Id(0)] public string? Name { get; set; }

    /// <summary>The records as JSON Lines.</summary>
    [Id(1)] public string? JsonLines { get; set; }
}

/// <summary>A content-addressed dataset; its rendering per format is cached for the life of the activation.</summary>
public sealed class DatasetGrain([PersistentState("dataset", EvalMeshSilo.StorageName)] IPersistentState<DatasetState> state) : Grain, IDatasetGrain
{
    private readonly Dictionary<string, string> _rendered = new(StringComparer.Ordinal);
    private IReadOnlyList<JsonObject>? _records;

    /// <inheritdoc />
    public async Task PutAsync(string name, string jsonLines)
    {
        if (state.State.JsonLines is not null)
        {
            return;
        }

        var dataset = Dataset.Create(name, DatasetReader.ParseJsonLines(jsonLines, name));
        if (dataset.Id != this.GetPrimaryKeyString())
        {
            throw new ArgumentException($"dataset '{name}' hashes to {dataset.Id}, not to this grain's key {this.GetPrimaryKeyString()}");
        }

        state.State.Name = name;
        state.State.JsonLines = jsonLines;
        await state.WriteStateAsync();
    }

    /// <inheritdoc />
    public Task<bool> HasRecordsAsync() => Task.FromResult(state.State.JsonLines is not null);

    /// <inheritdoc />
    public Task<string> RenderAsync(string format)
    {
        if (!_rendered.TryGetValue(format, out var text))
        {
            text = RecordFormats.Get(format).Render(Records);
            _rendered[format] = text;
        }

        return Task.FromResult(text);
    }

    /// <inheritdoc />
    public Task<string> RenderAsync(string format, IReadOnlyList<int> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var all = Records;
        return Task.FromResult(RecordFormats.Get(format).Render([.. records.Order().Select(n => all[n - 1])]));
    }

    private IReadOnlyList<JsonObject> Records =>
        _records ??= DatasetReader.ParseJsonLines(state.State.JsonLines ?? throw new InvalidOperationException($"dataset {this.GetPrimaryKeyString()} has no records"), state.State.Name ?? this.GetPrimaryKeyString());
}
