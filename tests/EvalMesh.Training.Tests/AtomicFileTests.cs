namespace EvalMesh.Training.Tests;

public sealed class AtomicFileTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("evalmesh-atomic-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Write_FailingHalfway_LeavesTheOldFileAndNoTemporary()
    {
        var path = Path.Combine(_folder, "adapter.gguf");
        File.WriteAllText(path, "old");
        Assert.Throws<InvalidDataException>(() => AtomicFile.Write(path, temporary =>
        {
            File.WriteAllText(temporary, "half of a new");
            throw new InvalidDataException("the writer failed");
        }, CancellationToken.None));
        Assert.Equal("old", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(_folder));
    }

    [Fact]
    public void Write_CancelledAfterWriting_DoesNotReplaceTheFile()
    {
        var path = Path.Combine(_folder, "model.gguf");
        using var cancellation = new CancellationTokenSource();
        Assert.Throws<OperationCanceledException>(() => AtomicFile.Write(path, temporary =>
        {
            File.WriteAllText(temporary, "new");
            cancellation.Cancel();
        }, cancellation.Token));
        Assert.Empty(Directory.GetFiles(_folder));
    }

    [Fact]
    public void Write_Succeeding_CreatesTheFolderAndMovesTheFileIntoPlace()
    {
        var path = Path.Combine(_folder, "sub", "adapter.gguf");
        AtomicFile.Write(path, temporary => File.WriteAllText(temporary, "new"), CancellationToken.None);
        Assert.Equal("new", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(Path.GetDirectoryName(path)!));
    }
}
