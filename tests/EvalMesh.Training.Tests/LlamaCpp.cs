using EvalMesh.Inference.Gguf;
using EvalMesh.Inference.Llama;
using EvalMesh.Training.Data;
using LLama;
using LLama.Common;
using LLama.Native;
using Microsoft.Extensions.Logging.Abstractions;

namespace EvalMesh.Training.Tests;

/// <summary>
/// llama.cpp itself (through LLamaSharp), as the reference the trainer is checked against: logits at every position
/// of a token sequence, with or without a LoRA adapter. The KV cache is F32 and flash attention off, so that llama.cpp
/// computes in single precision throughout as the trainer does.
/// </summary>
internal sealed class LlamaCpp : IDisposable
{
    private readonly LLamaWeights _weights;
    private readonly LLamaContext _context;
    private readonly string _model;

    public LlamaCpp(string model, uint contextSize = 1024)
    {
        LlamaRuntime.EnsureConfigured(NullLogger.Instance);
        _model = model;
        var parameters = new ModelParams(model)
        {
            ContextSize = contextSize,
            BatchSize = contextSize,
            UBatchSize = contextSize,
            Threads = 1,
            BatchThreads = 1,
            GpuLayerCount = 0,
            FlashAttention = false,
            TypeK = GGMLType.GGML_TYPE_F32,
            TypeV = GGMLType.GGML_TYPE_F32,
        };
        _weights = LLamaWeights.LoadFromFile(parameters);
        _context = _weights.CreateContext(parameters);
    }

    /// <summary>Logits at every position: one row of n_vocab per token.</summary>
    public float[][] Logits(IReadOnlyList<int> tokens, string? adapter = null)
    {
        LoraAdapter? lora = null;
        if (adapter is not null)
        {
            // A failed native load does not throw and crashes later: only validated files go to llama.cpp.
            GgufValidator.ValidateAdapter(adapter, GgufValidator.ValidateModel(_model));
            lora = _weights.NativeHandle.LoadLoraFromFile(adapter);
            _context.NativeHandle.SetLoraAdapters([(lora, 1f)]);
        }

        try
        {
            _context.NativeHandle.MemoryClear(true);
            var batch = new LLamaBatch();
            for (var i = 0; i < tokens.Count; i++)
            {
                batch.Add((LLamaToken)tokens[i], i, (LLamaSeqId)0, true);
            }

            Assert.Equal(DecodeResult.Ok, _context.NativeHandle.Decode(batch));
            return [.. Enumerable.Range(0, tokens.Count).Select(i => _context.NativeHandle.GetLogitsIth(i).ToArray())];
        }
        finally
        {
            if (lora is not null)
            {
                _context.NativeHandle.SetLoraAdapters([]);
                lora.Unload();
            }
        }
    }

    /// <summary>The summed log-probability of tokens [<paramref name="from"/>, end) given those before them.</summary>
    public double LogProbability(IReadOnlyList<int> tokens, int from, string? adapter = null)
    {
        var logits = Logits(tokens, adapter);
        var total = 0.0;
        for (var t = from; t < tokens.Count; t++)
        {
            var row = logits[t - 1];
            var max = row.Max();
            var sum = row.Sum(l => Math.Exp(l - max));
            total += row[tokens[t]] - max - Math.Log(sum);
        }

        return total;
    }

    public void Dispose()
    {
        _context.Dispose();
        _weights.Dispose();
    }
}
