namespace EvalMesh.Evaluation;

/// <summary>Writes a file whole or not at all: under a hidden temporary name beside it, then moved into place.</summary>
public static class AtomicFile
{
    /// <summary>
    /// Calls <paramref name="write"/> with the temporary path, then moves that file over <paramref name="path"/>
    /// (creating its folder); when <paramref name="write"/> throws, the temporary file is removed and the target is
    /// left as it was.
    /// </summary>
    public static void Write(string path, Action<string> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full)!;
        var temporary = Path.Combine(folder, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            Directory.CreateDirectory(folder);
            write(temporary);
            File.Move(temporary, full, overwrite: true);
        }
        finally
        {
            try
            {
                File.Delete(temporary);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // The temporary file is hidden and named as such; failing to remove it must not hide the real outcome.
            }
        }
    }
}
