using System.Security.Cryptography;
using System.Text;
using Orleans.Serialization;
using Orleans.Storage;

namespace EvalMesh.Grains.Storage;

/// <summary>
/// Grain state in files, for the embedded single-silo mode: runs survive the process, so <c>evalmesh runs</c>,
/// <c>status</c> and <c>report</c> work after the run's process has exited. One file per grain and state name, written
/// to a temporary file and moved into place; the ETag is a version number checked on every write.
/// </summary>
public sealed class FileGrainStorage(string root, Serializer serializer) : IGrainStorage
{
    /// <inheritdoc />
    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var path = PathOf(stateName, grainId);
        if (!File.Exists(path))
        {
            grainState.State = Activator.CreateInstance<T>();
            grainState.ETag = null;
            grainState.RecordExists = false;
            return;
        }

        var bytes = await File.ReadAllBytesAsync(path);
        var version = BitConverter.ToInt64(bytes, 0);
        try
        {
            grainState.State = serializer.Deserialize<T>(bytes.AsMemory(8));
        }
        catch (Exception ex) when (ex is TypeLoadException or SerializerException or InvalidCastException or System.Text.Json.JsonException)
        {
            // The file stays as it is: a version that can read it still can.
            throw new StoredStateException($"{path}: the stored state of {grainId} cannot be read by this version of EvalMesh (it was probably written by an earlier one): {ex.Message}", ex);
        }

        grainState.ETag = version.ToString(System.Globalization.CultureInfo.InvariantCulture);
        grainState.RecordExists = true;
    }

    /// <inheritdoc />
    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var path = PathOf(stateName, grainId);
        var current = await CurrentVersionAsync(path);
        if (current?.ToString(System.Globalization.CultureInfo.InvariantCulture) != grainState.ETag)
        {
            throw new InconsistentStateException($"state of {grainId} changed underneath", current?.ToString(System.Globalization.CultureInfo.InvariantCulture), grainState.ETag);
        }

        var version = (current ?? 0) + 1;
        var payload = serializer.SerializeToArray(grainState.State);
        var bytes = new byte[8 + payload.Length];
        BitConverter.TryWriteBytes(bytes, version);
        payload.CopyTo(bytes, 8);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        await File.WriteAllBytesAsync(temporary, bytes);
        File.Move(temporary, path, overwrite: true);
        grainState.ETag = version.ToString(System.Globalization.CultureInfo.InvariantCulture);
        grainState.RecordExists = true;
    }

    /// <inheritdoc />
    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        File.Delete(PathOf(stateName, grainId));
        grainState.ETag = null;
        grainState.RecordExists = false;
        grainState.State = Activator.CreateInstance<T>();
        return Task.CompletedTask;
    }

    private static async Task<long?> CurrentVersionAsync(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        await using var file = File.OpenRead(path);
        var header = new byte[8];
        return await file.ReadAtLeastAsync(header, 8, throwOnEndOfStream: false) == 8 ? BitConverter.ToInt64(header) : null;
    }

    private string PathOf(string stateName, GrainId grainId)
    {
        // Grain keys hold characters file systems dislike; a hash names the file, the type names its folder.
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{stateName}/{grainId}")))[..32];
        return Path.Combine(root, "grains", grainId.Type.ToString() ?? "grain", hash + ".state");
    }
}
