using EvalMesh.Evaluation.Formats;
using EvalMesh.Evaluation.Tokenization;

namespace EvalMesh.Evaluation.Tests.Tokenization;

public class TokenizerRegistryTests
{
    [Theory]
    [InlineData("o200k_base", "hello world", 2)]
    [InlineData("cl100k_base", "hello world", 2)]
    [InlineData("o200k_base", "", 0)]
    public void CountTokens_KnownText_IsExact(string name, string text, int expected)
    {
        Assert.Equal(expected, TokenizerRegistry.Shared.Get(name).CountTokens(text));
    }

    [Fact]
    public void CountTokens_Japanese_DiffersBetweenVocabularies()
    {
        const string text = "BigQueryのコスト、先月より30%増えてます。パーティション切った方がいいかも。";
        var o200k = TokenizerRegistry.Shared.Get("o200k_base").CountTokens(text);
        var cl100k = TokenizerRegistry.Shared.Get("cl100k_base").CountTokens(text);
        Assert.InRange(o200k, 10, text.Length);
        Assert.True(o200k < cl100k, $"o200k_base ({o200k}) should be cheaper than cl100k_base ({cl100k}) on Japanese");
    }

    [Fact]
    public void Get_Unknown_ListsKnownNames()
    {
        var ex = Assert.Throws<UnknownNameException>(() => new TokenizerRegistry().Get("p50k"));
        Assert.Contains("o200k_base, cl100k_base", ex.Message);
    }

    [Fact]
    public void Register_LocalVocabulary_IsFoundByName()
    {
        var registry = new TokenizerRegistry();
        registry.Register(new CharacterCounter());
        Assert.Equal(5, registry.Get("chars").CountTokens("hello"));
        Assert.Equal(["o200k_base", "cl100k_base", "chars"], registry.Names);
    }

    [Fact]
    public void Measure_EveryFormat_CountsBytesAndTokens()
    {
        var records = EvalMesh.Evaluation.Generation.SlackGenerator.Generate(new EvalMesh.Evaluation.Generation.SlackGeneratorOptions(Messages: 20)).Messages;
        var costs = TokenStudy.Measure(records, RecordFormats.All, [TokenizerRegistry.Shared.Get("o200k_base")]);
        Assert.Equal(RecordFormats.Names, costs.Select(c => c.Format));
        Assert.All(costs, c => Assert.InRange(c.Tokens["o200k_base"], 100, c.Bytes));
        Assert.True(costs.Single(c => c.Format == "csv").Tokens["o200k_base"] < costs.Single(c => c.Format == "pretty-json").Tokens["o200k_base"]);
    }

    private sealed class CharacterCounter : ITokenCounter
    {
        public string Name => "chars";

        public int CountTokens(string text) => text.Length;
    }
}
