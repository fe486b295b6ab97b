using System.Diagnostics;
using System.Reflection;
using EvalMesh.Inference.Gguf;
using LLama.Native;

namespace EvalMesh.Inference.Llama;

/// <summary>An adapter loaded into llama.cpp from a private snapshot of its file.</summary>
/// <param name="Native">llama.cpp's adapter.</param>
/// <param name="Info">What validation read from the file.</param>
/// <param name="Snapshot">The private copy llama.cpp loaded.</param>
/// <param name="Took">How long copying, validating and loading took.</param>
internal sealed record LoadedAdapter(LoraAdapter Native, AdapterFileInfo Info, string Snapshot, TimeSpan Took);

/// <summary>
/// Loads adapter files into llama.cpp safely: each file is copied to a private snapshot and validated there before
/// llama.cpp sees it, so that a file that changes meanwhile cannot reach it, and an adapter llama.cpp refused is never
/// used. Snapshots are deleted when their adapter is unloaded, and all of them with the loader.
/// </summary>
internal sealed class AdapterLoader : IDisposable
{
    // LLamaSharp 0.30 returns an adapter with a null native pointer instead of throwing when llama.cpp rejects a file,
    // and using it crashes the process. The pointer is internal, so it is read by reflection; validation comes first,
    // this is the last line of defence.
    private static readonly PropertyInfo? NativePointer =
        typeof(LoraAdapter).GetProperty("Pointer", BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public);

    private readonly string _snapshots = Directory.CreateTempSubdirectory($"evalmesh-adapters-{Environment.ProcessId}-").FullName;

    /// <summary>Snapshots, validates and loads an adapter for a loaded base model.</summary>
    /// <exception cref="GgufException">The file is missing, changed while it was copied, or fails validation.</exception>
    /// <exception cref="InferenceException">llama.cpp could not load it.</exception>
    public LoadedAdapter Load(string adapter, LoadedModel model)
    {
        var started = Stopwatch.GetTimestamp();
        var (info, snapshot) = Snapshot(adapter, model.Info);
        LoraAdapter native;
        try
        {
            native = model.Weights.NativeHandle.LoadLoraFromFile(snapshot);
        }
        catch (Exception ex) when (ex is InvalidOperationException or LLama.Exceptions.RuntimeError)
        {
            File.Delete(snapshot);
            throw new InferenceException(InferenceProblem.AdapterLoadFailed, $"{adapter}: llama.cpp could not load the adapter: {ex.Message}", ex);
        }

        if (NativePointer?.GetValue(native) is IntPtr pointer && pointer == IntPtr.Zero)
        {
            File.Delete(snapshot);
            throw new InferenceException(InferenceProblem.AdapterLoadFailed, $"{adapter}: llama.cpp could not load the adapter");
        }

        return new LoadedAdapter(native, info, snapshot, Stopwatch.GetElapsedTime(started));
    }

    /// <summary>Unloads an adapter (it must be set on no context) and deletes its snapshot.</summary>
    public static void Unload(LoadedAdapter adapter)
    {
        adapter.Native.Unload();
        File.Delete(adapter.Snapshot);
    }

    /// <summary>Deletes every snapshot left.</summary>
    public void Dispose() => Directory.Delete(_snapshots, recursive: true);

    private (AdapterFileInfo Info, string Snapshot) Snapshot(string path, ModelFileInfo model)
    {
        if (!File.Exists(path))
        {
            throw new GgufException(path, GgufProblem.Missing, "no such file");
        }

        var before = new FileInfo(path);
        var (length, written) = (before.Length, before.LastWriteTimeUtc);
        var snapshot = Path.Combine(_snapshots, $"{Guid.NewGuid():N}.gguf");
        File.Copy(path, snapshot);
        var after = new FileInfo(path);
        try
        {
            if (after.Length != length || after.LastWriteTimeUtc != written || new FileInfo(snapshot).Length != length)
            {
                throw new GgufException(path, GgufProblem.ChangedWhileLoading, "the file changed while it was being copied for loading; try again once it is complete");
            }

            return (GgufValidator.ValidateAdapter(snapshot, model) with { Path = path }, snapshot);
        }
        catch (GgufException ex) when (ex.Path == snapshot)
        {
            File.Delete(snapshot);
            throw new GgufException(path, ex.Problem, ex.Detail);
        }
        catch
        {
            File.Delete(snapshot);
            throw;
        }
    }
}
