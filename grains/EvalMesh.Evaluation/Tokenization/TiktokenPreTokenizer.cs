using System.Globalization;

namespace EvalMesh.Evaluation.Tokenization;

/// <summary>The pre-tokenizer regexes of the OpenAI vocabularies that <see cref="TiktokenPreTokenizer"/> reproduces.</summary>
internal enum TiktokenPattern
{
    /// <summary>
    /// cl100k_base, as Microsoft.ML.Tokenizers 2.0.1 writes it:
    /// <c>'(?i:[sdmt]|ll|ve|re)|(?&gt;[^\r\n\p{L}\p{N}]?)(?&gt;\p{L}+)|(?&gt;\p{N}{1,3})| ?(?&gt;[^\s\p{L}\p{N}]+)(?&gt;[\r\n]*)|(?&gt;\s+)$|\s*[\r\n]|\s+(?!\S)|\s</c>.
    /// </summary>
    Cl100kBase,

    /// <summary>
    /// o200k_base:
    /// <c>[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+</c>.
    /// </summary>
    O200kBase,
}

/// <summary>
/// Splits text into the same chunks as the tiktoken pre-tokenizer regexes, without a regex engine and without
/// allocating: each call gives the length of the chunk at the start of the remaining text.
/// </summary>
/// <remarks>
/// The regexes are matched by .NET on UTF-16 chars, so a supplementary-plane character is two surrogate chars, neither
/// a letter, number nor white space; the classes here are likewise per char. Every char begins some alternative of
/// both regexes, so the regex's chunks are contiguous and the next one always starts where the last one ended.
/// </remarks>
internal static class TiktokenPreTokenizer
{
    private static readonly CharClass[] Classes = BuildClasses();

    [Flags]
    private enum CharClass : byte
    {
        None = 0,

        /// <summary><c>\p{L}</c>.</summary>
        Letter = 1,

        /// <summary><c>\p{N}</c>.</summary>
        Number = 2,

        /// <summary><c>\s</c>.</summary>
        Space = 4,

        /// <summary>o200k_base's <c>[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]</c>.</summary>
        Upper = 8,

        /// <summary>o200k_base's <c>[\p{Ll}\p{Lm}\p{Lo}\p{M}]</c>.</summary>
        Lower = 16,
    }

    /// <summary>The length of the chunk that starts <paramref name="text"/> under <paramref name="pattern"/>.</summary>
    /// <param name="text">The rest of the text; not empty.</param>
    /// <param name="pattern">The vocabulary whose regex to reproduce.</param>
    public static int ChunkLength(ReadOnlySpan<char> text, TiktokenPattern pattern) =>
        pattern == TiktokenPattern.O200kBase ? O200kBaseChunkLength(text) : Cl100kBaseChunkLength(text);

    /// <summary>The length of the cl100k_base chunk that starts <paramref name="text"/>.</summary>
    /// <param name="text">The rest of the text; not empty.</param>
    public static int Cl100kBaseChunkLength(ReadOnlySpan<char> text)
    {
        var first = text[0];
        var kind = Classes[first];

        // '(?i:[sdmt]|ll|ve|re)
        if (first == '\'' && text.Length >= 2)
        {
            var contraction = ContractionLength(text, 0);
            if (contraction > 0)
            {
                return contraction;
            }
        }

        // (?>[^\r\n\p{L}\p{N}]?)(?>\p{L}+): the optional char is atomic, but giving it back could not help anyway,
        // as it is not a letter.
        if ((kind & CharClass.Letter) != 0)
        {
            return RunEnd(text, 1, CharClass.Letter);
        }

        if (first is not ('\r' or '\n') && (kind & CharClass.Number) == 0 && text.Length >= 2 && (Classes[text[1]] & CharClass.Letter) != 0)
        {
            return RunEnd(text, 2, CharClass.Letter);
        }

        // (?>\p{N}{1,3})
        if ((kind & CharClass.Number) != 0)
        {
            return NumberEnd(text);
        }

        // ' ?(?>[^\s\p{L}\p{N}]+)(?>[\r\n]*)': neither run is given back, as nothing follows them.
        var symbolsStart = SymbolsStart(text, kind);
        if (symbolsStart >= 0)
        {
            var end = SymbolRunEnd(text, symbolsStart + 1);
            while (end < text.Length && text[end] is '\r' or '\n')
            {
                end++;
            }

            return end;
        }

        return SpaceChunkLength(text, endsAtTextEnd: true);
    }

    /// <summary>The length of the o200k_base chunk that starts <paramref name="text"/>.</summary>
    /// <param name="text">The rest of the text; not empty.</param>
    public static int O200kBaseChunkLength(ReadOnlySpan<char> text)
    {
        var first = text[0];
        var kind = Classes[first];

        // Both word alternatives may begin with one char that is not CR, LF, a letter or a number; the regex tries each
        // alternative with that char taken first, then without it (which only matters when it is a combining mark).
        var optionalPrefix = first is not ('\r' or '\n') && (kind & (CharClass.Letter | CharClass.Number)) == 0;
        int end;
        if (optionalPrefix && (end = LowerWordEnd(text, 1)) > 0)
        {
            return end;
        }

        if ((end = LowerWordEnd(text, 0)) > 0)
        {
            return end;
        }

        if (optionalPrefix && (end = UpperWordEnd(text, 1)) > 0)
        {
            return end;
        }

        if ((end = UpperWordEnd(text, 0)) > 0)
        {
            return end;
        }

        // \p{N}{1,3}
        if ((kind & CharClass.Number) != 0)
        {
            return NumberEnd(text);
        }

        // ' ?[^\s\p{L}\p{N}]+[\r\n/]*': '/' is itself a symbol, so the symbol run has already taken any '/' before
        // the first CR or LF.
        var symbolsStart = SymbolsStart(text, kind);
        if (symbolsStart >= 0)
        {
            end = SymbolRunEnd(text, symbolsStart + 1);
            while (end < text.Length && text[end] is '\r' or '\n' or '/')
            {
                end++;
            }

            return end;
        }

        return SpaceChunkLength(text, endsAtTextEnd: false);
    }

    /// <summary>
    /// <c>[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|...)?</c> with the
    /// optional char's choice made: where the match ends, or 0 if it fails.
    /// </summary>
    private static int LowerWordEnd(ReadOnlySpan<char> text, int start)
    {
        var upperEnd = RunEnd(text, start, CharClass.Upper);
        int end;
        if (upperEnd < text.Length && (Classes[text[upperEnd]] & CharClass.Lower) != 0)
        {
            end = RunEnd(text, upperEnd + 1, CharClass.Lower);
        }
        else
        {
            // The greedy upper run gives back chars until the lower run can start; the last one that is in both
            // classes is where it starts, and the lower run is then that one char.
            var last = upperEnd - 1;
            while (last >= start && (Classes[text[last]] & CharClass.Lower) == 0)
            {
                last--;
            }

            if (last < start)
            {
                return 0;
            }

            end = last + 1;
        }

        return end + ContractionLength(text, end);
    }

    /// <summary>
    /// <c>[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|...)?</c> with the
    /// optional char's choice made: where the match ends, or 0 if it fails.
    /// </summary>
    private static int UpperWordEnd(ReadOnlySpan<char> text, int start)
    {
        var upperEnd = RunEnd(text, start, CharClass.Upper);
        if (upperEnd == start)
        {
            return 0;
        }

        var end = RunEnd(text, upperEnd, CharClass.Lower);
        return end + ContractionLength(text, end);
    }

    /// <summary>
    /// The length of an English contraction at <paramref name="start"/> ('s, 't, 'd, 'm, 'll, 've, 're, in any case),
    /// or 0. The regexes' case-insensitivity matches only the ASCII letters here (no Kelvin sign or long s).
    /// </summary>
    private static int ContractionLength(ReadOnlySpan<char> text, int start)
    {
        if (start + 1 >= text.Length || text[start] != '\'')
        {
            return 0;
        }

        var second = text[start + 1] | 0x20;
        if (second is 's' or 't' or 'd' or 'm')
        {
            return 2;
        }

        if (start + 2 >= text.Length)
        {
            return 0;
        }

        var third = text[start + 2] | 0x20;
        return (second, third) is ('l', 'l') or ('v', 'e') or ('r', 'e') ? 3 : 0;
    }

    /// <summary>Where a run of 1-3 numbers that starts the text ends.</summary>
    private static int NumberEnd(ReadOnlySpan<char> text)
    {
        var end = 1;
        while (end < 3 && end < text.Length && (Classes[text[end]] & CharClass.Number) != 0)
        {
            end++;
        }

        return end;
    }

    /// <summary>
    /// Where <c> ?[^\s\p{L}\p{N}]+</c> would start its symbol run (0, or 1 after a space), or -1 if it cannot match.
    /// </summary>
    private static int SymbolsStart(ReadOnlySpan<char> text, CharClass kind)
    {
        if (text[0] == ' ')
        {
            return text.Length >= 2 && IsSymbol(Classes[text[1]]) ? 1 : -1;
        }

        return IsSymbol(kind) ? 0 : -1;
    }

    private static bool IsSymbol(CharClass kind) => (kind & (CharClass.Letter | CharClass.Number | CharClass.Space)) == 0;

    private static int SymbolRunEnd(ReadOnlySpan<char> text, int index)
    {
        while (index < text.Length && IsSymbol(Classes[text[index]]))
        {
            index++;
        }

        return index;
    }

    private static int RunEnd(ReadOnlySpan<char> text, int index, CharClass kind)
    {
        while (index < text.Length && (Classes[text[index]] & kind) != 0)
        {
            index++;
        }

        return index;
    }

    /// <summary>
    /// The white-space alternatives the two regexes share, for text that starts with white space:
    /// cl100k_base's <c>(?&gt;\s+)$|\s*[\r\n]|\s+(?!\S)|\s</c> and o200k_base's <c>\s*[\r\n]+|\s+(?!\S)|\s+</c>.
    /// </summary>
    /// <param name="text">The rest of the text, starting with white space.</param>
    /// <param name="endsAtTextEnd">Whether a run that reaches the end of the text is taken whole before anything else.</param>
    private static int SpaceChunkLength(ReadOnlySpan<char> text, bool endsAtTextEnd)
    {
        var runEnd = RunEnd(text, 1, CharClass.Space);
        if (endsAtTextEnd && runEnd == text.Length)
        {
            return runEnd;
        }

        // \s* gives back chars until a CR or LF follows it; no CR or LF follows that one inside the run.
        var lastLineBreak = text[..runEnd].LastIndexOfAny('\r', '\n');
        if (lastLineBreak >= 0)
        {
            return lastLineBreak + 1;
        }

        if (runEnd == text.Length)
        {
            return runEnd;
        }

        // \s+(?!\S) leaves the last white-space char for the next chunk; a single one is taken by the last alternative.
        return runEnd >= 2 ? runEnd - 1 : runEnd;
    }

    private static CharClass[] BuildClasses()
    {
        var classes = new CharClass[char.MaxValue + 1];
        for (var i = 0; i <= char.MaxValue; i++)
        {
            var c = (char)i;
            var kind = CharClass.None;
            switch (char.GetUnicodeCategory(c))
            {
                case UnicodeCategory.UppercaseLetter or UnicodeCategory.TitlecaseLetter:
                    kind = CharClass.Letter | CharClass.Upper;
                    break;
                case UnicodeCategory.LowercaseLetter:
                    kind = CharClass.Letter | CharClass.Lower;
                    break;
                case UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter:
                    kind = CharClass.Letter | CharClass.Upper | CharClass.Lower;
                    break;
                case UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark:
                    kind = CharClass.Upper | CharClass.Lower;
                    break;
                case UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber:
                    kind = CharClass.Number;
                    break;
                default:
                    break;
            }

            if (char.IsWhiteSpace(c))
            {
                kind |= CharClass.Space;
            }

            classes[i] = kind;
        }

        return classes;
    }
}
