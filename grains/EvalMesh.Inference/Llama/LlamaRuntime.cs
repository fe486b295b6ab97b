using System.Runtime.Intrinsics.X86;
using LLama.Native;
using Microsoft.Extensions.Logging;

namespace EvalMesh.Inference.Llama;

/// <summary>
/// Chooses llama.cpp's native build once per process, before the first native call: the model host and the trainer's
/// tokenizer both call it first. If something else loaded the library before, its choice stands.
/// </summary>
public static partial class LlamaRuntime
{
#if LLAMA_CUDA
    private const bool Cuda = true;
#else
    private const bool Cuda = false;
#endif

    private static readonly Lock Gate = new();
    private static bool _configured;

    /// <summary>Configures the native library unless it is loaded; llama.cpp's warnings go to <paramref name="logger"/> at debug level.</summary>
    public static void EnsureConfigured(ILogger logger)
    {
        lock (Gate)
        {
            if (_configured || NativeLibraryConfig.LLama.LibraryHasLoaded)
            {
                _configured = true;
                return;
            }

            // One build for this machine's instruction set: an automatic fallback can load a build that crashes.
            var avx = Avx512F.IsSupported ? AvxLevel.Avx512 : Avx2.IsSupported ? AvxLevel.Avx2 : Avx.IsSupported ? AvxLevel.Avx : AvxLevel.None;
            NativeLibraryConfig.All
                .WithCuda(Cuda)
                .WithVulkan(false)
                .WithAvx(avx)
                .WithAutoFallback(Cuda)
                .WithLogCallback((level, message) =>
                {
                    if (level >= LLamaLogLevel.Warning && !string.IsNullOrWhiteSpace(message) && logger.IsEnabled(LogLevel.Debug))
                    {
                        var text = message.TrimEnd();
                        LogNative(logger, text);
                    }
                });
            _configured = true;
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "llama.cpp: {Message}")]
    private static partial void LogNative(ILogger logger, string message);
}
