using EvalMesh.Abstractions;
using EvalMesh.Grains.Storage;
using Orleans.Concurrency;

namespace EvalMesh.Grains.Runs;

/// <summary>
/// Reads a run's stored results outside its run grain: the run grain answers one short call for the run's outline, and
/// the reading and aggregating happen here. Reentrant, so that several readers of one run proceed together.
/// </summary>
[Reentrant]
public sealed class RunResultsGrain(IResultStore store, RunInputs inputs) : Grain, IRunResultsGrain
{
    private string RunId => this.GetPrimaryKeyString();

    /// <inheritdoc />
    public async Task<RunReport> GetReportAsync()
    {
        var outline = await GrainFactory.GetRun(RunId).GetOutlineAsync();
        return await ReportBuilder.BuildAsync(outline.Status, outline.Spec, store.ReadAsync(RunId, outline.ShardCount));
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<CellResult> GetResultsAsync()
    {
        var outline = await GrainFactory.GetRun(RunId).GetOutlineAsync();
        await foreach (var result in store.ReadAsync(RunId, outline.ShardCount))
        {
            yield return result;
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<PromptHead>> GetPromptHeadsAsync()
    {
        var spec = (await GrainFactory.GetRun(RunId).GetOutlineAsync()).Spec;
        var heads = new List<PromptHead>(spec.Suites.Count * spec.Formats.Count);
        foreach (var suite in spec.Suites)
        {
            foreach (var format in spec.Formats)
            {
                heads.Add(new PromptHead(suite.Name, format, (await inputs.TemplateAsync(spec.Prompt, suite.DatasetId, format, perQuestion: suite.Context is not null)).Head));
            }
        }

        return heads;
    }
}
