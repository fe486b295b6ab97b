using System.Globalization;
using Microsoft.Extensions.Logging;

namespace EvalMesh.Cli;

/// <summary>
/// Writes the CLI's own host logs (the embedded silo's or the cluster client's warnings and errors) to a file, one entry
/// each with its exception, so that they never mix with what the CLI prints for its user. CLI processes running at the
/// same time append to the same file; past <see cref="MaxBytes"/> it is moved to <c>.1</c> and started afresh.
/// </summary>
internal sealed class FileLoggerProvider : ILoggerProvider
{
    private const long MaxBytes = 10 << 20;

    private readonly StreamWriter _writer;
    private readonly Lock _lock = new();

    private FileLoggerProvider(StreamWriter writer) => _writer = writer;

    /// <summary>The provider writing to <paramref name="path"/>, or null when the file cannot be written (the logs are then dropped).</summary>
    public static FileLoggerProvider? TryOpen(string path)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            if (File.Exists(path) && new FileInfo(path).Length > MaxBytes)
            {
                File.Move(path, path + ".1", overwrite: true);
            }

            var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
            return new FileLoggerProvider(new StreamWriter(stream) { AutoFlush = true });
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public ILogger CreateLogger(string categoryName) => new FileLogger(this, categoryName);

    public void Dispose()
    {
        lock (_lock)
        {
            _writer.Dispose();
        }
    }

    private void Write(string category, LogLevel level, string message, Exception? exception)
    {
        var entry = string.Create(CultureInfo.InvariantCulture, $"{DateTimeOffset.UtcNow:O} {level} {category}: {message}{(exception is null ? string.Empty : Environment.NewLine + exception)}");
        lock (_lock)
        {
            _writer.WriteLine(entry);
        }
    }

    private sealed class FileLogger(FileLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            provider.Write(category, logLevel, formatter(state, exception), exception);
    }
}
