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
}
