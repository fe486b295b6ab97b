using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.ML.Tokenizers;

namespace EvalMesh.Evaluation.Tokenization;

/// <summary>An OpenAI BPE vocabulary (o200k_base, cl100k_base) through Microsoft.ML.Tokenizers, offline.</summary>
/// <remarks>
/// Counts are exactly the library's <see cref="Tokenizer.CountTokens(string, bool, bool)"/>: BPE never merges across
/// pre-tokenizer chunks, so a text's count is the sum of its chunks' counts. The chunks come from
/// <see cref="TiktokenPreTokenizer"/> instead of the library's regex, and each distinct short chunk is encoded once.
/// <para>
/// <see cref="CountTokens(string, string)"/> remembers, for the most recently used prefixes, a split point before which
/// the prefix's chunks cannot change whatever follows, and what those chunks cost; each call then counts only the text
/// from the split point on, which is the prefix's last few chunks followed by the suffix.
/// </para>
/// </remarks>
internal sealed class TiktokenCounter(string name) : ITokenCounter
{
    // Chunks are mostly words, numbers and punctuation, but Japanese runs on without spaces (a sentence between two
    // punctuation marks is one chunk); longer chunks are rarely repeated and are left to the library.
    private const int MaxCachedChunkLength = 64;

    // Caps the cache at about 10 MB per vocabulary however varied the texts are (each entry is at most ~200 bytes);
    // past it, chunks not yet cached are encoded by the library every time.
    private const int MaxCachedChunks = 50_000;

    // A run shares one head per suite and format; more than that keeps interleaved cells and runs from evicting each
    // other, and each entry holds its prefix (tens of KB).
    private const int MaxCachedPrefixes = 16;

    // The text counted per call is the prefix's last chunks and a question, mostly a few hundred chars.
    private const int StackTailLength = 1024;

    // Building a tokenizer reads and indexes its vocabulary (~0.5-1 s), so it happens once, on first use.
    private readonly Lazy<Vocabulary> _vocabulary = new(() => new Vocabulary(Create(name)));

    // The library's tokenizers of one encoding share its decoder, which each new one writes its special tokens into:
    // building them one at a time keeps that dictionary whole.
    private static readonly Lock Creation = new();

    private readonly TiktokenPattern? _pattern = name switch
    {
        TokenizerRegistry.O200kBase => TiktokenPattern.O200kBase,
        TokenizerRegistry.Cl100kBase => TiktokenPattern.Cl100kBase,
        _ => null,
    };

    private readonly ConcurrentDictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _chunkCounts =
        new ConcurrentDictionary<string, int>().GetAlternateLookup<ReadOnlySpan<char>>();

    // Most recently used first; guarded by itself.
    private readonly List<PrefixSplit> _prefixes = new(MaxCachedPrefixes);

    private int _cachedChunks;

    public string Name => name;

    /// <summary>Where <paramref name="prefix"/> is split: the chunks before this index are counted once.</summary>
    internal int SplitPoint(string prefix) =>
        _pattern is { } pattern && !string.IsNullOrEmpty(prefix) ? SplitOf(prefix, pattern, _vocabulary.Value).HeadLength : 0;

    /// <summary>How many prefixes are remembered.</summary>
    internal int CachedPrefixes
    {
        get
        {
            lock (_prefixes)
            {
                return _prefixes.Count;
            }
        }
    }

    /// <summary>Builds the library's tokenizer for an encoding, one at a time process-wide.</summary>
    internal static Tokenizer Create(string encoding)
    {
        lock (Creation)
        {
            return TiktokenTokenizer.CreateForEncoding(encoding);
        }
    }

    public int CountTokens(string text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return 0;
        }

        var vocabulary = _vocabulary.Value;
        if (_pattern is not { } pattern)
        {
            return vocabulary.Tokenizer.CountTokens(text);
        }

        // As the library does, each special token is one token and ends the regex's text. The library itself cannot be
        // asked: it keeps special tokens in its LRU cache of encoded words, so once enough words have been encoded they
        // are forgotten and counted as text.
        var count = 0;
        var rest = text.AsSpan();
        while (vocabulary.NextSpecialToken(rest) is ({ } at, { } length))
        {
            count += CountChunks(rest[..at], pattern, vocabulary.Tokenizer) + 1;
            rest = rest[(at + length)..];
        }

        return count + CountChunks(rest, pattern, vocabulary.Tokenizer);
    }

    public int CountTokens(string prefix, string suffix)
    {
        suffix ??= string.Empty;
        if (string.IsNullOrEmpty(prefix))
        {
            return CountTokens(suffix);
        }

        var vocabulary = _vocabulary.Value;
        if (_pattern is not { } pattern)
        {
            return CountTokens(prefix + suffix);
        }

        var split = SplitOf(prefix, pattern, vocabulary);
        if (split.HasSpecialToken || vocabulary.ContainsSpecialToken(suffix) || vocabulary.SpansSpecialToken(prefix, suffix))
        {
            // A special token cuts the text, which the split does not account for.
            return CountTokens(prefix + suffix);
        }

        var headLength = split.HeadLength;
        var tailLength = prefix.Length - headLength + suffix.Length;
        char[]? rented = null;
        var tail = tailLength <= StackTailLength ? stackalloc char[StackTailLength] : (rented = ArrayPool<char>.Shared.Rent(tailLength));
        try
        {
            prefix.AsSpan(headLength).CopyTo(tail);
            suffix.AsSpan().CopyTo(tail[(prefix.Length - headLength)..]);
            return split.HeadTokens + CountChunks(tail[..tailLength], pattern, vocabulary.Tokenizer);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// The split of <paramref name="prefix"/>: remembered under the same string, else under the same text, else made
    /// now; the most recently used are kept.
    /// </summary>
    private PrefixSplit SplitOf(string prefix, TiktokenPattern pattern, Vocabulary vocabulary)
    {
        PrefixSplit[] known;
        lock (_prefixes)
        {
            for (var i = 0; i < _prefixes.Count; i++)
            {
                if (ReferenceEquals(_prefixes[i].Prefix, prefix))
                {
                    var hit = _prefixes[i];
                    _prefixes.RemoveAt(i);
                    _prefixes.Insert(0, hit);
                    return hit;
                }
            }

            known = [.. _prefixes];
        }

        // Comparing text costs the prefix's length, so it happens outside the lock.
        PrefixSplit? found = null;
        foreach (var candidate in known)
        {
            if (string.Equals(candidate.Prefix, prefix, StringComparison.Ordinal))
            {
                found = candidate;
                break;
            }
        }

        // The same text in a new string is kept under the new one, which callers are likely to pass again.
        var split = found is null ? Split(prefix, pattern, vocabulary) : found with { Prefix = prefix };
        lock (_prefixes)
        {
            var stale = _prefixes.FindIndex(p => ReferenceEquals(p, found) || ReferenceEquals(p.Prefix, prefix));
            if (stale >= 0)
            {
                _prefixes.RemoveAt(stale);
            }
            else if (_prefixes.Count == MaxCachedPrefixes)
            {
                _prefixes.RemoveAt(MaxCachedPrefixes - 1);
            }

            _prefixes.Insert(0, split);
        }

        return split;
    }

    /// <summary>
    /// Where <paramref name="prefix"/> can be split and what its head costs: the start of its third-to-last chunk,
    /// or 0 when it has fewer than three.
    /// </summary>
    /// <remarks>
    /// The chunks of <c>prefix + suffix</c> before that point are the prefix's own: the pre-tokenizer decides where a
    /// chunk ends by reading forward from its start, never back, and reads no further than
    /// (a) two chars past the chunk's end (a contraction such as <c>'ll</c> after a word), or
    /// (b) the end of the letter run or white-space run the chunk is in, where the chunk stopped early only because of
    /// what ends the run (o200k_base's upper-case run giving back its last lower-case char, a white-space run keeping
    /// its last space or ending at its last line break); the next chunk then ends no more than one char before that.
    /// So a chunk that ends at e1, followed by chunks that end at e2 and e3, reads no char past index
    /// max(e1 + 2, e2 + 1) &lt;= e3. For a chunk before the third-to-last, e3 is at most where the last chunk starts,
    /// inside the prefix: it reads the same chars, and never finds the text's end, whatever the suffix is.
    /// </remarks>
    private PrefixSplit Split(string prefix, TiktokenPattern pattern, Vocabulary vocabulary)
    {
        if (vocabulary.ContainsSpecialToken(prefix))
        {
            return new PrefixSplit(prefix, HeadLength: 0, HeadTokens: 0, HasSpecialToken: true);
        }

        // The start of each of the last three chunks and the tokens before it.
        (int Start, int TokensBefore) thirdToLast = default, secondToLast = default, last = default;
        var tokens = 0;
        for (var offset = 0; offset < prefix.Length;)
        {
            var length = TiktokenPreTokenizer.ChunkLength(prefix.AsSpan(offset), pattern);
            (thirdToLast, secondToLast, last) = (secondToLast, last, (offset, tokens));
            tokens += CountChunk(prefix.AsSpan(offset, length), vocabulary.Tokenizer);
            offset += length;
        }

        return new PrefixSplit(prefix, thirdToLast.Start, thirdToLast.TokensBefore, HasSpecialToken: false);
    }

    private int CountChunks(ReadOnlySpan<char> text, TiktokenPattern pattern, Tokenizer tokenizer)
    {
        var count = 0;
        while (!text.IsEmpty)
        {
            var length = TiktokenPreTokenizer.ChunkLength(text, pattern);
            count += CountChunk(text[..length], tokenizer);
            text = text[length..];
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

        /// <summary>Where the first special token in <paramref name="text"/> starts, and its length (nulls when there is none).</summary>
        public (int? At, int? Length) NextSpecialToken(ReadOnlySpan<char> text)
        {
            (int? At, int? Length) first = (null, null);
            foreach (var token in _specialTokens)
            {
                var at = text.IndexOf(token, StringComparison.Ordinal);
                if (at >= 0 && (first.At is null || at < first.At))
                {
                    first = (at, token.Length);
                }
            }

            return first;
        }

        public bool ContainsSpecialToken(string text) => NextSpecialToken(text).At is not null;

        /// <summary>Whether a special token starts in <paramref name="prefix"/> and ends in <paramref name="suffix"/>.</summary>
        public bool SpansSpecialToken(string prefix, string suffix)
        {
            foreach (var token in _specialTokens)
            {
                for (var cut = 1; cut < token.Length; cut++)
                {
                    if (prefix.AsSpan().EndsWith(token.AsSpan(0, cut), StringComparison.Ordinal) &&
                        suffix.AsSpan().StartsWith(token.AsSpan(cut), StringComparison.Ordinal))
                    {
                        return true;
                    }
                }
            }

            return false;
        }
    }

    /// <summary>
    /// A remembered prefix: its chunks before <paramref name="HeadLength"/> are the same whatever follows it, and cost
    /// <paramref name="HeadTokens"/>; when it contains a special token every count is of the whole text.
    /// </summary>
    private sealed record PrefixSplit(string Prefix, int HeadLength, int HeadTokens, bool HasSpecialToken);
}
