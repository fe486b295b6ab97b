namespace EvalMesh.Training;

/// <summary>Writes a trainer's output whole or not at all (<see cref="Evaluation.AtomicFile"/>), with its errors as <see cref="TrainingException"/>.</summary>
internal static class AtomicFile
{
    /// <summary>
    /// Checks that the folder of a file can be there (it exists, or its nearest existing ancestor is a folder), so that
    /// a path that can never be written fails before work starts; nothing is created.
    /// </summary>
    /// <exception cref="TrainingException">A file stands where a folder of the path should be.</exception>
    public static void CheckFolder(string path)
    {
        for (var folder = Path.GetDirectoryName(Path.GetFullPath(path)); folder is not null; folder = Path.GetDirectoryName(folder))
        {
            if (Directory.Exists(folder))
            {
                return;
            }

            if (File.Exists(folder))
            {
                throw new TrainingException(path, TrainingProblem.OutputFailed, $"'{folder}' is a file, not a folder");
            }
        }
    }

    /// <exception cref="TrainingException">The file could not be written (no room, no permission, ...).</exception>
    public static void Write(string path, Action<string> write, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(write);
        try
        {
            Evaluation.AtomicFile.Write(path, temporary =>
            {
                write(temporary);
                cancellationToken.ThrowIfCancellationRequested();
            });
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new TrainingException(path, TrainingProblem.OutputFailed, ex.Message, innerException: ex);
        }
    }
}
