using EvalMesh.Inference.Tiny;

[assembly: AssemblyFixture(typeof(EvalMesh.Training.Tests.TinyModelFixture))]

namespace EvalMesh.Training.Tests;

/// <summary>One generated tiny model (seed 42) with one adapter for the whole test assembly.</summary>
public sealed class TinyModelFixture : IDisposable
{
    public TinyModelFixture()
    {
        Folder = Directory.CreateTempSubdirectory("evalmesh-train-").FullName;
        Files = TinyModel.Write(Folder, seed: 42, adapters: 1);
    }

    public string Folder { get; }

    public TinyModelFiles Files { get; }

    public string Model => Files.Model;

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}
