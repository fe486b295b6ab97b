using EvalMesh.Abstractions;
using EvalMesh.Inference.Llama;
using EvalMesh.Inference.Tiny;
using Microsoft.Extensions.Options;

[assembly: AssemblyFixture(typeof(EvalMesh.Inference.Tests.TinyModelFixture))]

namespace EvalMesh.Inference.Tests;

/// <summary>One generated tiny model with three adapters for the whole test assembly, and helpers to serve it.</summary>
public sealed class TinyModelFixture : IDisposable
{
    public TinyModelFixture()
    {
        Folder = Directory.CreateTempSubdirectory("evalmesh-tiny-").FullName;
        Files = TinyModel.Write(Folder, seed: 42, adapters: 3);
    }

    public string Folder { get; }

    public TinyModelFiles Files { get; }

    public string Model => Files.Model;

    public static GenerationOptions Greedy(int maxTokens = 12) => new(maxTokens);

    public static ModelHost Host(Action<ModelHostOptions>? configure = null)
    {
        var options = new ModelHostOptions { ContextSize = 16384 };
        configure?.Invoke(options);
        return new ModelHost(Options.Create(options));
    }

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}
