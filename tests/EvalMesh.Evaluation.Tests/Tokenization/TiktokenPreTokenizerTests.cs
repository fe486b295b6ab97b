using System.Text;
using CsCheck;
using EvalMesh.Evaluation.Formats;
using EvalMesh.Evaluation.Generation;
using EvalMesh.Evaluation.Tokenization;
using Microsoft.ML.Tokenizers;

namespace EvalMesh.Evaluation.Tests.Tokenization;

/// <summary>
/// The hand-written pre-tokenizer and the cached counter against Microsoft.ML.Tokenizers itself: the same chunks as
/// the library's regex, and the same counts as <see cref="Tokenizer.CountTokens(string, bool, bool)"/>.
/// </summary>
public class TiktokenPreTokenizerTests
{
    // Separate instances from the counters', so the reference never shares state with what it checks.
    internal static readonly Dictionary<string, Lazy<Tokenizer>> Reference = new(StringComparer.Ordinal)
    {
        [TokenizerRegistry.O200kBase] = new(() => TiktokenCounter.Create(TokenizerRegistry.O200kBase)),
        [TokenizerRegistry.Cl100kBase] = new(() => TiktokenCounter.Create(TokenizerRegistry.Cl100kBase)),
    };

    /// <summary>
    /// The library's count, as its <see cref="Tokenizer.CountTokens(string, bool, bool)"/> makes it: its own
    /// pre-tokenizer splits the text (special tokens apart), a special token is one token, and the rest is its BPE.
    /// The special tokens are looked up here because the library keeps them in its LRU cache of encoded words, which
    /// forgets them once an instance has encoded enough words (a CI run saw "&lt;|endoftext|&gt;" counted as 7).
    /// </summary>
    internal static int LibraryCount(string name, string text)
    {
        var tokenizer = (TiktokenTokenizer)Reference[name].Value;
        return tokenizer.PreTokenizer!.PreTokenize(text).Sum(split => tokenizer.SpecialTokens!.ContainsKey(text.Substring(split.Offset, split.Length))
            ? 1
            : tokenizer.CountTokens(text.AsSpan(split.Offset, split.Length), considerPreTokenization: false, considerNormalization: false));
    }

    // Single chars and fragments that hit every branch of both regexes: contractions in odd cases, case-folding
    // look-alikes (long s, Kelvin sign), every kind of white space, combining marks, title case and modifier letters,
    // surrogate pairs and lone surrogates, numbers from other scripts.
    internal static readonly string[] Fragments =
    [
        .. "abcxyzKSTAEIOU0123456789 !\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~'".Select(c => c.ToString()),
        "'s", "'S", "'t", "'T", "'d", "'D", "'m", "'M", "'re", "'RE", "'Re", "'rE", "'ve", "'VE", "'ll", "'LL", "'Ll", "'x", "''", "'", "'ſ", "'\u212A",
        "ſ", "\u212A", "İ", "ı",
        " ", " ", "  ", "\t", "\r", "\n", "\r\n", "\n\n", " \n", "\v", "\f", "\u0085", "\u00A0", "\u1680", "\u2000", "\u2028", "\u2029", "\u202F",
        "\u3000", "\u200B", "\uFEFF", "\u0000",
        "日本語", "のテキスト", "です。", "カタカナ", "ｶﾀｶﾅ", "ー", "、", "「引用」",
        "é", "e\u0301", "E\u0301", "\u0301", "\u0301\u0301", "\u20DD", "\u0903", "Ñ", "ß", "ǅ", "ǈa", "ʰ", "ʼ", "ª",
        "Σσς", "Привет", "مرحبا", "שלום", "नमस्ते", "สวัสดี",
        "😀", "👍🏽", "🇯🇵", "👨\u200D👩\u200D👧", "𝐀", "𝐚", "𠀀", "\uD83D", "\uDE00", "\uDBFF", "\uDC00",
        "٠١٢٣", "۴۵", "０１２", "²", "½", "Ⅻ", "१२", "1234567",
        "/", "//", "/\n", "\n/", "://", "...", "—", "…", "€", "©",
    ];

    internal static readonly string[] SpecialTokenFragments = ["<|endoftext|>", "<|endofprompt|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|", "|>", "<|endoftext"];

    private static readonly Gen<string> Text = Gen.OneOf<string>(Fragments).Array[0, 40].Select(string.Concat);

    private static readonly Gen<string> TextWithSpecialTokens =
        Gen.Frequency((9, Gen.OneOf<string>(Fragments)), (1, Gen.OneOf<string>(SpecialTokenFragments))).Array[0, 40].Select(string.Concat);

    public static TheoryData<string> Names() => [TokenizerRegistry.O200kBase, TokenizerRegistry.Cl100kBase];

    [Theory]
    [MemberData(nameof(Names))]
    public void ChunkLength_RandomText_SplitsLikeTheLibraryRegex(string name)
    {
        Text.Sample(text => AssertSameChunks(name, text), iter: 20_000);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void CountTokens_RandomText_EqualsTheLibrary(string name)
    {
        var counter = TokenizerRegistry.Shared.Get(name);
        TextWithSpecialTokens.Sample(text => Assert.Equal(LibraryCount(name, text), counter.CountTokens(text)), iter: 10_000);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void ChunkLength_EveryChar_SplitsLikeTheLibraryRegex(string name)
    {
        // Each template puts one char among neighbours that decide which alternative takes it.
        string[] templates =
        [
            "X", "aXb", "AXa", "aXA", "XX", "XXa", "XXA", "X'sa", "X'LL", "'X", "'Xe", "'lX", " X", " Xa", "  X", "X ", "X  a",
            "\tX", "\nX", "X\n", "X\r\n/", "1X", "X1", "X12345", "!X", "X!", "\u0301X", "X\u0301", "ǅX", "Xʰa", "X\uDE00", "\uD83DX",
        ];
        var mismatches = new List<string>();
        for (var c = 0; c <= char.MaxValue && mismatches.Count < 20; c++)
        {
            foreach (var template in templates)
            {
                var text = template.Replace("X", ((char)c).ToString(), StringComparison.Ordinal);
                if (!Chunks(name, text).SequenceEqual(LibraryChunks(name, text)))
                {
                    mismatches.Add($"U+{c:X4} in \"{Escape(template)}\"");
                }
            }
        }

        Assert.Empty(mismatches);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void CountTokens_SlackDatasetInEveryFormat_EqualsTheLibrary(string name)
    {
        var messages = SlackGenerator.Generate(new SlackGeneratorOptions()).Messages;
        var counter = TokenizerRegistry.Shared.Get(name);
        var reference = Reference[name].Value;
        foreach (var format in RecordFormats.All)
        {
            var text = format.Render(messages);
            AssertSameChunks(name, text);
            Assert.Equal(reference.CountTokens(text), counter.CountTokens(text));

            // Again, now that every chunk comes from the cache.
            Assert.Equal(reference.CountTokens(text), counter.CountTokens(text));
        }
    }

    [Theory]
    [InlineData("o200k_base", "<|endoftext|>")]
    [InlineData("o200k_base", "before<|endoftext|>after   <|endofprompt|>\n\n")]
    [InlineData("o200k_base", "a  <|endoftext|>  b")]
    [InlineData("cl100k_base", "<|fim_prefix|>def f():\n    <|fim_suffix|>\n<|fim_middle|>")]
    [InlineData("cl100k_base", "text   <|endoftext|>x")]
    [InlineData("cl100k_base", "<|endoftext<|endofprompt|>|>")]
    [InlineData("cl100k_base", "<|not_special|> <|")]
    public void CountTokens_SpecialTokens_EqualsTheLibrary(string name, string text)
    {
        Assert.Equal(LibraryCount(name, text), TokenizerRegistry.Shared.Get(name).CountTokens(text));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void CountTokens_SpecialTokens_StayOneTokenAfterManyWords(string name)
    {
        // Enough distinct words to push the special tokens out of the library's LRU cache of encoded words.
        var counter = new TiktokenCounter(name);
        for (var i = 0; i < 50_000; i++)
        {
            counter.CountTokens(Word(i));
        }

        Assert.Equal(1, counter.CountTokens("<|endoftext|>"));
        Assert.Equal(LibraryCount(name, "a <|endoftext|> b"), counter.CountTokens("a <|endoftext|> b"));

        // One pre-tokenizer chunk each, mostly not in the vocabulary, so the library encodes and caches each.
        static string Word(int i)
        {
            var letters = new StringBuilder("zq");
            for (; i > 0; i /= 26)
            {
                letters.Append((char)('a' + (i % 26)));
            }

            return letters.ToString();
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Library_HasNoNormalizer_SoChunksAreEncodedAsTheyAre(string name)
    {
        // The counter encodes chunks with considerNormalization: false, which is only the library's count without one.
        Assert.Null(Reference[name].Value.Normalizer);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void CountTokens_LongChunks_EqualsTheLibrary(string name)
    {
        // Chunks longer than the cache takes go to the library every time.
        var text = string.Concat(Enumerable.Repeat("Pneumonoultramicroscopicsilicovolcanoconiosis", 3)) + " " + new string('-', 100) + new string(' ', 70) + "x";
        Assert.Equal(LibraryCount(name, text), TokenizerRegistry.Shared.Get(name).CountTokens(text));
    }

    private static void AssertSameChunks(string name, string text)
    {
        var expected = LibraryChunks(name, text);
        var actual = Chunks(name, text);
        Assert.True(expected.SequenceEqual(actual), $"\"{Escape(text)}\": library [{Show(text, expected)}], scanner [{Show(text, actual)}]");
    }

    private static List<(int Offset, int Length)> LibraryChunks(string name, string text) =>
        [.. Reference[name].Value.PreTokenizer!.PreTokenize(text)];

    /// <summary>The chunks EvalMesh's scanner splits a text into, for a tokenizer's name.</summary>
    internal static List<(int Offset, int Length)> Chunks(string name, string text)
    {
        var pattern = name == TokenizerRegistry.O200kBase ? TiktokenPattern.O200kBase : TiktokenPattern.Cl100kBase;
        var chunks = new List<(int Offset, int Length)>();
        for (var offset = 0; offset < text.Length;)
        {
            var length = TiktokenPreTokenizer.ChunkLength(text.AsSpan(offset), pattern);
            chunks.Add((offset, length));
            offset += length;
        }

        return chunks;
    }

    private static string Show(string text, List<(int Offset, int Length)> chunks) =>
        string.Join(", ", chunks.Select(c => $"\"{Escape(text.Substring(c.Offset, c.Length))}\""));

    private static string Escape(string text)
    {
        var builder = new StringBuilder();
        foreach (var c in text)
        {
            builder.Append(c is >= ' ' and <= '~' ? c.ToString() : $"\\u{(int)c:X4}");
        }

        return builder.ToString();
    }
}
