using EvalMesh.Abstractions;
using EvalMesh.Inference.Llama;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EvalMesh.Grains.Routing;

/// <summary>
/// Several times a second, and at once when an adapter is loaded, evicted or released: tells the residency directory
/// what this silo holds (adapters, frequencies — evicted adapters' too —, queue depths, active adapter hosts),
/// refreshes this silo's view of the directory, which placement directors read, and gives the model host the other
/// silos' frequencies of its adapters, so that it evicts by cluster-wide frequency as placement does.
/// </summary>
internal sealed partial class ResidencyReporter(
    IGrainFactory grains,
    ModelHost host,
    AdapterFiles adapterFiles,
    ResidencyView view,
    ILocalSiloDetails silo,
    IOptions<AdapterAffinityPlacementOptions> options,
    TimeProvider time,
    ILogger<ResidencyReporter> logger) : BackgroundService
{
    private readonly SemaphoreSlim _changed = new(0);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var directory = grains.GetAdapterDirectory();
        host.ResidencyChanged += Signal;
        try
        {
            while (true)
            {
                await _changed.WaitAsync(options.Value.ReportInterval, stoppingToken);
                while (_changed.Wait(0, CancellationToken.None))
                {
                    // Changes that came together go in one report.
                }

                try
                {
                    var report = await ReportAsync(stoppingToken);
                    await directory.ReportAsync(report);
                    var snapshot = await directory.GetSnapshotAsync();
                    view.Update(snapshot);
                    host.SetElsewhere(ClusterView(report, snapshot));
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    // The silo may still be joining, or the directory moving after a silo's death: the next tick retries.
                    LogReportFailed(ex);
                }
            }
        }
        finally
        {
            host.ResidencyChanged -= Signal;
        }
    }

    private void Signal() => _changed.Release();

    public override void Dispose()
    {
        _changed.Dispose();
        base.Dispose();
    }

    private async Task<SiloReport> ReportAsync(CancellationToken cancellationToken)
    {
        var depths = await host.GetQueueDepthsAsync(cancellationToken);
        var residency = host.Residency;
        var resident = residency.Resident.ToDictionary(a => a.Files);
        var counters = residency.Counters;
        var adapters = new List<AdapterLoad>();
        foreach (var files in resident.Keys.Union(counters.Keys).Union(depths.Keys).Distinct())
        {
            if (files.Adapter is null || adapterFiles.KeyOf(files) is not { } key)
            {
                continue;
            }

            var loaded = resident.GetValueOrDefault(files);
            var counts = counters.GetValueOrDefault(files);
            adapters.Add(new AdapterLoad(key, loaded is not null, residency.FrequencyOf(files), depths.GetValueOrDefault(files), counts?.Loads ?? 0, counts?.Hits ?? 0, counts?.Evictions ?? 0, loaded?.Bytes ?? 0));
        }

        return new SiloReport(silo.SiloAddress.ToParsableString(), residency.Capacity, depths.Values.Sum(), adapters, adapterFiles.ActiveHosts, time.GetUtcNow());
    }

    // How the other silos see every adapter this silo reported: any of them may be its next victim.
    private Dictionary<ModelFiles, Elsewhere> ClusterView(SiloReport report, DirectorySnapshot snapshot)
    {
        var counts = new Dictionary<ModelFiles, Elsewhere>();
        foreach (var adapter in report.Adapters)
        {
            if (adapterFiles.FilesOf(adapter.Key) is { Adapter: not null } files)
            {
                counts[files] = new Elsewhere(snapshot.FrequencyElsewhere(adapter.Key, report.Silo), snapshot.IsSurplus(adapter.Key, report.Silo));
            }
        }

        return counts;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Residency report failed; retrying on the next tick")]
    private partial void LogReportFailed(Exception exception);
}
