using System.Collections.Concurrent;
using Microsoft.ML.Tokenizers;

namespace EvalMesh.Evaluation.Tokenization;

/// <summary>An OpenAI BPE vocabulary (o200k_base, cl100k_base) through Microsoft.ML.Tokenizers, offline.</summary>
/// <remarks>
/// Counts are exactly the library's <see cref="Tokenizer.CountTokens(string, bool, bool)"/>: BPE never merges across
/// pre-tokenizer chunks, so a text's count is the sum of its chunks' counts. The chunks come from
/// <see cref="TiktokenPreTokenizer"/> instead of the library's regex, and each distinct short chunk is encoded once.
/// </remarks>
internal sealed class TiktokenCounter(string name) : ITokenCounter
{
    // Chunks are mostly words, numbers and punctuation, but Japanese runs on without spaces (a sentence between two
    // punctuation marks is one chunk); longer chunks are rarely repeated and are left to the library.
    private const int MaxCachedChunkLength = 64;

    // Caps the cache at about 10 MB per vocabulary however varied the texts are (each entry is at most ~200 bytes);
    // past it, chunks not yet cached are encoded by the library every time.
    private const int MaxCachedChunks = 50_000;

    // Building a tokenizer reads and indexes its vocabulary (~0.5-1 s), so it happens once, on first use.
    private readonly Lazy<Vocabulary> _vocabulary = new(() => new Vocabulary(TiktokenTokenizer.CreateForEncoding(name)));

    private readonly TiktokenPattern? _pattern = name switch
    {
        TokenizerRegistry.O200kBase => TiktokenPattern.O200kBase,
        TokenizerRegistry.Cl100kBase => TiktokenPattern.Cl100kBase,
        _ => null,
    };

    private readonly ConcurrentDictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _chunkCounts =
        new ConcurrentDictionary<string, int>().GetAlternateLookup<ReadOnlySpan<char>>();

    private int _cachedChunks;

    public string Name => name;

    public int CountTokens(string text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return 0;
        }

        var vocabulary = _vocabulary.Value;
        if (_pattern is not { } pattern || vocabulary.ContainsSpecialToken(text))
        {
            // The library splits special tokens out before the regex runs, and ends the regex's text at each one.
            return vocabulary.Tokenizer.CountTokens(text);
        }

        var rest = text.AsSpan();
        var count = 0;
        while (!rest.IsEmpty)
        {
            var length = TiktokenPreTokenizer.ChunkLength(rest, pattern);
            count += CountChunk(rest[..length], vocabulary.Tokenizer);
            rest = rest[length..];
        }

        return count;
    }

    private int CountChunk(ReadOnlySpan<char> chunk, Tokenizer tokenizer)
    {
        if (chunk.Length > MaxCachedChunkLength)
        {
            return EncodeChunk(chunk, tokenizer);
        }

        if (_chunkCounts.TryGetValue(chunk, out var count))
        {
            return count;
        }

        count = EncodeChunk(chunk, tokenizer);
        if (Volatile.Read(ref _cachedChunks) < MaxCachedChunks && _chunkCounts.TryAdd(chunk, count))
        {
            Interlocked.Increment(ref _cachedChunks);
        }

        return count;
    }

    // The chunk is already one pre-tokenizer chunk; splitting it again could differ, as the regex's look-ahead and
    // end anchor would see a different end.
    private static int EncodeChunk(ReadOnlySpan<char> chunk, Tokenizer tokenizer) =>
        tokenizer.CountTokens(chunk, considerPreTokenization: false, considerNormalization: false);

    /// <summary>The library's tokenizer and the special tokens it splits out (such as <c>&lt;|endoftext|&gt;</c>).</summary>
    private sealed class Vocabulary(Tokenizer tokenizer)
    {
        private readonly string[] _specialTokens = tokenizer is TiktokenTokenizer { SpecialTokens: { } special } ? [.. special.Keys] : [];

        public Tokenizer Tokenizer => tokenizer;

        public bool ContainsSpecialToken(string text)
        {
            foreach (var token in _specialTokens)
            {
                if (text.Contains(token, StringComparison.Ordinal))
                {
                    return true;
                }
            }

            return false;
        }
    }
}
