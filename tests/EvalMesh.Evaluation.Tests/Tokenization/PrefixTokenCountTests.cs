using System.Text;
using CsCheck;
using EvalMesh.Evaluation.Configuration;
using EvalMesh.Evaluation.Formats;
using EvalMesh.Evaluation.Generation;
using EvalMesh.Evaluation.Tokenization;

namespace EvalMesh.Evaluation.Tests.Tokenization;

/// <summary>
/// <see cref="ITokenCounter.CountTokens(string, string)"/> is exactly <c>CountTokens(prefix + suffix)</c>, however the
/// text is cut and whatever the counter remembers about earlier prefixes.
/// </summary>
public class PrefixTokenCountTests
{
    // Beyond the pre-tokenizer tests' fragments: runs whose chunks depend on how the run ends (upper-case runs that give
    // back a lower-case char, white space before a line break or a word), halves of contractions, and numbers that
    // continue across the cut.
    private static readonly string[] BoundaryFragments =
    [
        "中", "中A", "ABC", "ǅ", "Aʰ", "\u0301A", "don", "'", "l", "ll", "L", "ve", "re", "t", "S",
        "   ", "\n\n", "  \n  ", "\r\n\r\n", "\r", " \t ", "\u3000\u3000", "\u00A0 ", "\n ", " \n", "\t\n\t",
        "12", "123", "4567", "٣", ".\n", "/\r\n/", "--", "\"", ":", "{", "}", ",\n    ",
    ];

    // Halves of special tokens, so that one can be completed across the cut.
    private static readonly string[] SpecialFragments =
    [
        .. TiktokenPreTokenizerTests.SpecialTokenFragments, "<", "|", "<|endof", "text|>", "endoftext|>", "prompt|>", "<|fim_", "middle|>", "|endoftext|>",
    ];

    private static readonly Gen<string> Piece = Gen.Frequency(
        (3, Gen.OneOf<string>(TiktokenPreTokenizerTests.Fragments)),
        (2, Gen.OneOf<string>(BoundaryFragments)));

    private static readonly Gen<string> PieceOrSpecial = Gen.Frequency((12, Piece), (1, Gen.OneOf<string>(SpecialFragments)));

    private static readonly Gen<string> Prefix = Piece.Array[0, 30].Select(string.Concat);

    private static readonly Gen<string> Suffix = Piece.Array[0, 8].Select(string.Concat);

    public static TheoryData<string> Names() => [TokenizerRegistry.O200kBase, TokenizerRegistry.Cl100kBase];

    [Theory]
    [MemberData(nameof(Names))]
    public void CountTokens_RandomPrefixAndSuffix_EqualsTheWholeText(string name)
    {
        var counter = TokenizerRegistry.Shared.Get(name);
        var reference = TiktokenPreTokenizerTests.Reference[name].Value;
        Gen.Select(Prefix, Suffix).Sample((prefix, suffix) =>
        {
            var expected = counter.CountTokens(prefix + suffix);
            Assert.Equal(reference.CountTokens(prefix + suffix), expected);
            Assert.Equal(expected, counter.CountTokens(prefix, suffix));

            // Again from the remembered split, then with the same text in another string.
            Assert.Equal(expected, counter.CountTokens(prefix, suffix));
            Assert.Equal(expected, counter.CountTokens(new string(prefix.AsSpan()), suffix));
        }, iter: 20_000, print: Show);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void CountTokens_TextCutAnywhere_EqualsTheWholeText(string name)
    {
        // One text cut at every point, special tokens included: a cut can fall inside a word, a white-space run, a
        // surrogate pair or a special token.
        var counter = TokenizerRegistry.Shared.Get(name);
        PieceOrSpecial.Array[1, 25].Select(string.Concat).Sample(text =>
        {
            var expected = TiktokenPreTokenizerTests.LibraryCount(name, text);
            Assert.Equal(expected, counter.CountTokens(text));
            for (var cut = 0; cut <= text.Length; cut++)
            {
                Assert.True(expected == counter.CountTokens(text[..cut], text[cut..]), $"cut at {cut}");
            }
        }, iter: 3_000, print: Escape);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void CountTokens_OnePrefixManySuffixes_EqualsTheWholeText(string name)
    {
        // Every fragment as the suffix: what follows the cut decides whether the prefix's last chunks hold.
        string[] suffixes = [.. TiktokenPreTokenizerTests.Fragments, .. BoundaryFragments, .. SpecialFragments, string.Empty];
        var counter = TokenizerRegistry.Shared.Get(name);
        Prefix.Sample(prefix =>
        {
            foreach (var suffix in suffixes)
            {
                Assert.True(counter.CountTokens(prefix + suffix) == counter.CountTokens(prefix, suffix), $"suffix \"{Escape(suffix)}\"");
            }
        }, iter: 1_000, print: Escape);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void SplitPoint_RandomPrefixAndSuffix_KeepsTheChunksBeforeIt(string name)
    {
        // The chunks themselves, not only their counts, which could agree by chance.
        var counter = new TiktokenCounter(name);
        Gen.Select(Prefix, Suffix).Sample((prefix, suffix) =>
        {
            var split = counter.SplitPoint(prefix);
            Assert.InRange(split, 0, Math.Max(0, prefix.Length - 1));
            var expected = TiktokenPreTokenizerTests.Chunks(name, prefix).TakeWhile(c => c.Offset < split).ToList();
            var actual = TiktokenPreTokenizerTests.Chunks(name, prefix + suffix).TakeWhile(c => c.Offset < split).ToList();
            Assert.Equal(expected, actual);
            Assert.Equal(split, actual.Count == 0 ? 0 : actual[^1].Offset + actual[^1].Length);
        }, iter: 20_000, print: Show);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void CountTokens_ManyPrefixesInTurn_StaysExactAndBounded(string name)
    {
        var counter = new TiktokenCounter(name);
        var prefixes = Piece.Array[5, 60].Select(string.Concat).Array[100].Single();
        var suffixes = Suffix.Array[10].Single();

        // Cycling through more prefixes than are kept evicts each one before it comes back; the inner loop reuses one.
        for (var round = 0; round < 3; round++)
        {
            for (var i = 0; i < prefixes.Length; i++)
            {
                foreach (var suffix in suffixes)
                {
                    var prefix = round == 1 ? new string(prefixes[i].AsSpan()) : prefixes[i];
                    Assert.True(counter.CountTokens(prefix + suffix) == counter.CountTokens(prefix, suffix), $"\"{Escape(prefix)}\" + \"{Escape(suffix)}\"");
                }

                Assert.InRange(counter.CachedPrefixes, 1, 16);
            }
        }

        // A few prefixes used in turn, as in a run with several formats, stay remembered.
        for (var i = 0; i < 200; i++)
        {
            var prefix = prefixes[i % 5];
            Assert.Equal(counter.CountTokens(prefix + suffixes[i % 10]), counter.CountTokens(prefix, suffixes[i % 10]));
        }

        Assert.Equal(16, counter.CachedPrefixes);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void CountTokens_ConcurrentCallers_EqualsTheWholeText(string name)
    {
        var counter = new TiktokenCounter(name);
        var prefixes = Piece.Array[1, 30].Select(string.Concat).Array[40].Single();
        Gen.Select(Gen.Int[0, prefixes.Length - 1], Suffix).Sample((i, suffix) =>
            Assert.Equal(counter.CountTokens(prefixes[i] + suffix), counter.CountTokens(prefixes[i], suffix)), iter: 20_000, threads: 4);
        Assert.InRange(counter.CachedPrefixes, 1, 16);
    }

    [Theory]
    [InlineData("o200k_base", "before <|endof", "text|> after")]
    [InlineData("o200k_base", "x<", "|endoftext|>")]
    [InlineData("o200k_base", "x<|endoftext|", ">")]
    [InlineData("o200k_base", "a <|endoftext|> b", " c")]
    [InlineData("o200k_base", "a ", "<|endofprompt|>\n")]
    [InlineData("o200k_base", "<|endoftext", "<|endofprompt|>|>")]
    [InlineData("cl100k_base", "def f():\n    <|fim_", "suffix|>\n")]
    [InlineData("cl100k_base", "<|fim_prefix|>", "x")]
    [InlineData("cl100k_base", "text   <", "|endoftext|>x")]
    [InlineData("cl100k_base", "<|not_special|> <", "|")]
    public void CountTokens_SpecialTokenInOrAcrossTheParts_EqualsTheLibrary(string name, string prefix, string suffix)
    {
        var expected = TiktokenPreTokenizerTests.LibraryCount(name, prefix + suffix);
        var counter = TokenizerRegistry.Shared.Get(name);
        Assert.Equal(expected, counter.CountTokens(prefix, suffix));
        Assert.Equal(expected, counter.CountTokens(prefix, suffix));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void CountTokens_SlackDatasetInThePromptWithEachQuestion_EqualsTheWholePrompt(string name)
    {
        var dataset = SlackGenerator.Generate(new SlackGeneratorOptions());
        var counter = TokenizerRegistry.Shared.Get(name);
        var reference = TiktokenPreTokenizerTests.Reference[name].Value;
        const string Context = "{{context}}";
        var template = EvalConfig.DefaultPrompt;
        var cut = template.IndexOf(Context, StringComparison.Ordinal) + Context.Length;
        Assert.NotEmpty(dataset.Suite.Cases);
        foreach (var format in RecordFormats.All)
        {
            var context = format.Render(dataset.Messages);
            var prefix = template[..cut].Replace("{{format}}", format.Name, StringComparison.Ordinal).Replace(Context, context, StringComparison.Ordinal);
            foreach (var testCase in dataset.Suite.Cases)
            {
                var suffix = template[cut..].Replace("{{question}}", testCase.Question, StringComparison.Ordinal);
                var expected = counter.CountTokens(prefix + suffix);
                Assert.Equal(reference.CountTokens(prefix + suffix), expected);
                Assert.Equal(expected, counter.CountTokens(prefix, suffix));
            }

            // The split is near the end of the prefix, so each count costs about the question's length.
            Assert.InRange(prefix.Length - ((TiktokenCounter)counter).SplitPoint(prefix), 1, 32);
        }
    }

    [Fact]
    public void CountTokens_DefaultImplementation_CountsTheConcatenation()
    {
        ITokenCounter counter = new PairCounter();
        Assert.Equal(2, counter.CountTokens("ab", "ba"));
        Assert.Equal(1, counter.CountTokens(string.Empty, "aa"));
    }

    private static string Show((string Prefix, string Suffix) pair) => $"\"{Escape(pair.Prefix)}\" + \"{Escape(pair.Suffix)}\"";

    private static string Escape(string text)
    {
        var builder = new StringBuilder();
        foreach (var c in text)
        {
            builder.Append(c is >= ' ' and <= '~' ? c.ToString() : $"\\u{(int)c:X4}");
        }

        return builder.ToString();
    }

    /// <summary>A counter that knows only whole texts: one token per two chars, rounded up, so that cuts would show.</summary>
    private sealed class PairCounter : ITokenCounter
    {
        public string Name => "pairs";

        public int CountTokens(string text) => (text.Length + 1) / 2;
    }
}
