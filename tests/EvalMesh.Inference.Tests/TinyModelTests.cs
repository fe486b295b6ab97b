using EvalMesh.Inference.Gguf;
using EvalMesh.Inference.Tiny;

namespace EvalMesh.Inference.Tests;

public sealed class TinyModelTests(TinyModelFixture tiny) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("evalmesh-tiny-copy-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Write_SameSeed_GivesByteIdenticalFiles()
    {
        var again = TinyModel.Write(Path.Combine(_folder, "same"), seed: 42, adapters: 3);
        Assert.Equal(File.ReadAllBytes(tiny.Model), File.ReadAllBytes(again.Model));
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(File.ReadAllBytes(tiny.Files.Adapters[i]), File.ReadAllBytes(again.Adapters[i]));
        }
    }

    [Fact]
    public void EnsureCached_ReplacesAModelAnotherGeneratorWrote_AndKeepsItsOwn()
    {
        // A model of another seed in the cache, as an older version (or a hand) might have left it.
        var cache = Path.Combine(_folder, "cache");
        TinyModel.Write(cache, seed: 43, adapters: 2);
        var cached = TinyModel.EnsureRandomCached(cache);
        Assert.Equal(File.ReadAllBytes(tiny.Model), File.ReadAllBytes(cached.Model));
        Assert.Equal(File.ReadAllBytes(tiny.Files.Adapters[1]), File.ReadAllBytes(cached.Adapters[1]));

        var written = File.GetLastWriteTimeUtc(cached.Model);
        Assert.Equal(cached.Model, TinyModel.EnsureRandomCached(cache).Model);
        Assert.Equal(written, File.GetLastWriteTimeUtc(cached.Model));

        File.WriteAllText(Path.Combine(cache, TinyModel.GeneratorStampFileName), "an older generator");
        TinyModel.EnsureRandomCached(cache);
        Assert.NotEqual(written, File.GetLastWriteTimeUtc(cached.Model));
    }

    [Fact]
    public void EnsureTrainedCached_WritesTheShippedTrainedModel_WhoseAdaptersAreMadeForIt_ApartFromTheRandomOne()
    {
        var cache = Path.Combine(_folder, "cache");
        var trained = TinyModel.EnsureTrainedCached(cache);
        Assert.Equal(Path.Combine(cache, "trained", TinyModel.ModelFileName), trained.Model);
        var model = GgufValidator.ValidateModel(trained.Model);
        Assert.All(trained.Adapters, a => GgufValidator.ValidateAdapter(a, model));
        Assert.NotEqual(GgufValidator.ValidateModel(TinyModel.EnsureRandomCached(cache).Model).Fingerprint, model.Fingerprint);

        // The recipe's shape: digits one by one, the output tied to the embedding.
        var file = GgufFile.Read(trained.Model);
        Assert.DoesNotContain(Pieces(file), HasTwoDigitsInARow);
        Assert.DoesNotContain(file.Tensors, t => t.Name == "output.weight");

        // Written again byte for byte, into a folder of one's own.
        var copy = TinyModel.WriteTrained(Path.Combine(_folder, "copy"));
        Assert.Equal(File.ReadAllBytes(trained.Model), File.ReadAllBytes(copy.Model));
        Assert.Equal(File.ReadAllBytes(trained.Adapters[1]), File.ReadAllBytes(copy.Adapters[1]));
    }

    [Fact]
    public void Write_OtherSeed_GivesOtherWeightsAndFingerprint()
    {
        var other = TinyModel.Write(Path.Combine(_folder, "other"), seed: 43, adapters: 1);
        Assert.NotEqual(File.ReadAllBytes(tiny.Model), File.ReadAllBytes(other.Model));
        Assert.NotEqual(GgufValidator.ValidateModel(tiny.Model).Fingerprint, GgufValidator.ValidateModel(other.Model).Fingerprint);
    }

    [Fact]
    public void Model_IsALlamaWithASentencePieceVocabularyWithByteFallback()
    {
        var file = GgufFile.Read(tiny.Model);
        Assert.Equal("llama", file.GetString("general.architecture"));
        Assert.Equal("llama", file.GetString("tokenizer.ggml.model"));
        var tokens = (object[])file.Metadata["tokenizer.ggml.tokens"];
        var types = (object[])file.Metadata["tokenizer.ggml.token_type"];
        Assert.Equal(["<unk>", "<s>", "</s>", "<0x00>"], tokens.Take(4).Cast<string>());
        Assert.Equal(256, types.Count(t => (int)t == 6));
        Assert.Contains("\u2581the", tokens.Cast<string>());
        Assert.True(tokens.Length > 1000, $"vocabulary of {tokens.Length}");
    }

    [Fact]
    public void Adapters_TargetAttentionAndFfnWithTheirOwnRankAndAlpha()
    {
        var model = GgufValidator.ValidateModel(tiny.Model);
        var adapters = tiny.Files.Adapters.Select(a => GgufValidator.ValidateAdapter(a, model)).ToList();
        var names = GgufFile.Read(tiny.Files.Adapters[0]).Tensors.Select(t => t.Name).ToList();
        foreach (var target in new[] { "attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down" })
        {
            Assert.Contains($"blk.0.{target}.weight.lora_a", names);
            Assert.Contains($"blk.1.{target}.weight.lora_b", names);
        }

        Assert.True(adapters.Select(a => (a.Rank, a.Alpha)).Distinct().Count() > 1, "adapters should differ in rank or alpha");
    }

    [Fact]
    public void WriteInitial_WithDigitRunOne_SplitsNumbersDigitByDigit_AndTiesTheOutputToTheEmbedding()
    {
        var shape = new TinyModelShape(Embedding: 32, Blocks: 1, Heads: 2, FeedForward: 64, VocabularySize: 1024, DigitRun: 1, TiedOutput: true);
        var file = GgufFile.Read(TinyModel.WriteInitial(_folder, seed: 1, shape));
        Assert.DoesNotContain(Pieces(file), HasTwoDigitsInARow);
        Assert.Contains(Pieces(file), t => t.Any(char.IsAsciiDigit) && t.Any(char.IsAsciiLetter));
        Assert.DoesNotContain(file.Tensors, t => t.Name == "output.weight");

        // The default shape keeps longer runs of digits and an output layer of its own.
        var smoke = GgufFile.Read(tiny.Model);
        Assert.Contains(Pieces(smoke), HasTwoDigitsInARow);
        Assert.Contains(smoke.Tensors, t => t.Name == "output.weight");
    }

    // Byte-fallback tokens such as <0x0A> are not pieces of text.
    private static IEnumerable<string> Pieces(GgufFile model) => ((object[])model.Metadata["tokenizer.ggml.tokens"]).Cast<string>().Where(t => !t.StartsWith("<0x", StringComparison.Ordinal));

    private static bool HasTwoDigitsInARow(string piece) => piece.Zip(piece.Skip(1)).Any(p => char.IsAsciiDigit(p.First) && char.IsAsciiDigit(p.Second));
}
