using Microsoft.Extensions.Logging;

namespace EvalMesh.Grains.Runs;

public sealed partial class EvalRunGrain
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Run {RunId} started: {Cells} cells in {Shards} shards")]
    private partial void LogStarted(string runId, long cells, int shards);

    [LoggerMessage(Level = LogLevel.Error, Message = "Run {RunId} failed: {Reason}")]
    private partial void LogFailed(string runId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Run {RunId}: its state could not be stored")]
    private partial void LogPersistFailed(Exception exception, string runId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Run {RunId} completed: {Cells} cells")]
    private partial void LogCompleted(string runId, int cells);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Run {RunId}: {Action} adapter {Adapter} failed")]
    private partial void LogAdapterHintFailed(Exception exception, string runId, string action, string adapter);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Run {RunId}: leasing its window's {Count} adapter(s) failed")]
    private partial void LogLeaseFailed(Exception exception, string runId, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Run {RunId}: shard {Shard} could not be reached; retrying on the next tick")]
    private partial void LogDispatchFailed(Exception exception, string runId, int shard);
}
