using System.Text.RegularExpressions;

namespace EvalMesh.Inference.Tiny;

/// <summary>
/// A SentencePiece-style vocabulary with byte fallback, learnt by BPE merges over a corpus: the layout llama.cpp's
/// "llama" tokenizer reads (<c>&lt;unk&gt;</c>, <c>&lt;s&gt;</c>, <c>&lt;/s&gt;</c>, 256 byte tokens, then pieces whose
/// score orders the merges). Spaces are written as U+2581 as SentencePiece does.
/// </summary>
internal sealed partial class SentencePieceVocabulary
{
    public const char Space = '\u2581';

    // SentencePiece's default max_sentencepiece_length: longer pieces would memorise whole identifiers.
    private const int MaxPieceLength = 16;

    // llama.cpp token types.
    private const int Normal = 1;
    private const int Unknown = 2;
    private const int Control = 3;
    private const int Byte = 6;

    private SentencePieceVocabulary(List<string> pieces, List<float> scores, List<int> types)
    {
        Pieces = pieces;
        Scores = scores;
        Types = types;
    }

    public IReadOnlyList<string> Pieces { get; }

    public IReadOnlyList<float> Scores { get; }

    public IReadOnlyList<int> Types { get; }

    /// <summary>
    /// Learns up to <paramref name="size"/> pieces from the corpus; deterministic for the same corpus. With
    /// <paramref name="digitRun"/> above 0, no piece holds more than that many digits in a row, so that numbers such as
    /// timestamps split into short runs of digits (1: digit by digit, as LLaMA's tokenizer splits them) whatever corpus
    /// the pieces were learnt from, while digits may still join the letters beside them in identifiers.
    /// </summary>
    public static SentencePieceVocabulary Train(string corpus, int size, int digitRun = 0)
    {
        var pieces = new List<string> { "<unk>", "<s>", "</s>" };
        var scores = new List<float> { 0, 0, 0 };
        var types = new List<int> { Unknown, Control, Control };
        for (var b = 0; b < 256; b++)
        {
            pieces.Add($"<0x{b:X2}>");
            scores.Add(0);
            types.Add(Byte);
        }

        // Words as SentencePiece sees them: a run of text starting with its space marker; line breaks stand alone.
        var escaped = Space + corpus.Replace(' ', Space);
        var wordCounts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (Match word in Word().Matches(escaped))
        {
            wordCounts[word.Value] = wordCounts.GetValueOrDefault(word.Value) + 1;
        }

        // Characters seen at least twice become pieces; rarer ones are left to byte fallback.
        var charCounts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (word, count) in wordCounts)
        {
            foreach (var c in Symbols(word))
            {
                charCounts[c] = charCounts.GetValueOrDefault(c) + count;
            }
        }

        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (c, _) in charCounts.Where(p => p.Value >= 2).OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal))
        {
            if (pieces.Count >= size)
            {
                break;
            }

            ids[c] = pieces.Count;
            pieces.Add(c);
            scores.Add(-1_000_000);
            types.Add(Normal);
        }

        // Words as piece ids (-1 for characters left to byte fallback, which never merge), with their counts.
        var words = wordCounts
            .OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => (Symbols: Symbols(p.Key).Select(c => ids.GetValueOrDefault(c, -1)).ToList(), Count: p.Value))
            .ToList();
        var pairCounts = new Dictionary<long, int>();
        var pairWords = new Dictionary<long, HashSet<int>>();
        for (var w = 0; w < words.Count; w++)
        {
            CountPairs(w, +1);
        }

        var merge = 0;
        while (pieces.Count < size)
        {
            var best = -1L;
            var bestCount = 1;
            foreach (var (pair, count) in pairCounts)
            {
                if (count > bestCount || (count == bestCount && best >= 0 && ComparePairs(pair, best) < 0))
                {
                    best = pair;
                    bestCount = count;
                }
            }

            if (best < 0)
            {
                break;
            }

            var (left, right) = ((int)(best >> 32), (int)best);
            var mergedId = pieces.Count;
            pieces.Add(pieces[left] + pieces[right]);
            scores.Add(-++merge);
            types.Add(Normal);
            foreach (var w in pairWords[best].Order().ToList())
            {
                CountPairs(w, -1);
                var symbols = words[w].Symbols;
                for (var i = 0; i + 1 < symbols.Count; i++)
                {
                    if (symbols[i] == left && symbols[i + 1] == right)
                    {
                        symbols[i] = mergedId;
                        symbols.RemoveAt(i + 1);
                    }
                }

                CountPairs(w, +1);
            }
        }

        return new SentencePieceVocabulary(pieces, scores, types);

        void CountPairs(int word, int sign)
        {
            var (symbols, count) = words[word];
            for (var i = 0; i + 1 < symbols.Count; i++)
            {
                if (symbols[i] < 0 || symbols[i + 1] < 0 || pieces[symbols[i]].Length + pieces[symbols[i + 1]].Length > MaxPieceLength
                    || (digitRun > 0 && TrailingDigits(pieces[symbols[i]]) + LeadingDigits(pieces[symbols[i + 1]]) > digitRun && char.IsAsciiDigit(pieces[symbols[i]][^1]) && char.IsAsciiDigit(pieces[symbols[i + 1]][0])))
                {
                    continue;
                }

                var pair = ((long)symbols[i] << 32) | (uint)symbols[i + 1];
                var total = pairCounts.GetValueOrDefault(pair) + (sign * count);
                if (total == 0)
                {
                    pairCounts.Remove(pair);
                    pairWords.Remove(pair);
                    continue;
                }

                pairCounts[pair] = total;
                if (sign > 0)
                {
                    if (!pairWords.TryGetValue(pair, out var where))
                    {
                        pairWords[pair] = where = [];
                    }

                    where.Add(word);
                }
            }
        }

        // Ties in frequency break by the pair's text, so that training is deterministic.
        int ComparePairs(long a, long b)
        {
            var first = string.CompareOrdinal(pieces[(int)(a >> 32)], pieces[(int)(b >> 32)]);
            return first != 0 ? first : string.CompareOrdinal(pieces[(int)a], pieces[(int)b]);
        }
    }

    private static int TrailingDigits(string piece) => piece.Length - piece.AsSpan().TrimEnd("0123456789").Length;

    private static int LeadingDigits(string piece) => piece.Length - piece.AsSpan().TrimStart("0123456789").Length;

    // SentencePiece's characters are Unicode code points.
    private static IEnumerable<string> Symbols(string word) => word.EnumerateRunes().Select(r => r.ToString());

    [GeneratedRegex("\u2581?[^\u2581\n]+|\n+|\u2581+")]
    private static partial Regex Word();
}
