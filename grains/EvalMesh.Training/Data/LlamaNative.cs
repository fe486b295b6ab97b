using System.Runtime.Intrinsics.X86;
using LLama.Native;

namespace EvalMesh.Training.Data;

/// <summary>
/// Chooses llama.cpp's native CPU build before the first native call, as the model host does: one build for this
/// machine's instruction set, no automatic fallback (a fallback can load a build that crashes). If the host (or
/// anything else) loaded the library first, its choice stands.
/// </summary>
internal static class LlamaNative
{
    private static readonly Lock Gate = new();
    private static bool _configured;

    public static void EnsureConfigured()
    {
        lock (Gate)
        {
            if (_configured || NativeLibraryConfig.LLama.LibraryHasLoaded)
            {
                _configured = true;
                return;
            }

            var avx = Avx512F.IsSupported ? AvxLevel.Avx512 : Avx2.IsSupported ? AvxLevel.Avx2 : Avx.IsSupported ? AvxLevel.Avx : AvxLevel.None;
            NativeLibraryConfig.All.WithCuda(false).WithVulkan(false).WithAvx(avx).WithAutoFallback(false)

                // llama.cpp's loading chatter would go to stderr; failures surface as exceptions or results instead.
                .WithLogCallback((_, _) => { });
            _configured = true;
        }
    }
}
