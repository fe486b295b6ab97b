using EvalMesh.Inference.Endpoints;
using EvalMesh.Training.Data;
using Microsoft.Extensions.AI;

namespace EvalMesh.Training.Tests;

/// <summary>Examples become the tokens inference sees: the rendered prompt from BOS, then the answer, then EOS.</summary>
public sealed class TrainingSetTests(TinyModelFixture tiny) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("evalmesh-set-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Load_TokenizesThePromptAsInferenceRendersIt_ThenTheAnswerAndEos()
    {
        var data = Path.Combine(_folder, "chat.jsonl");
        File.WriteAllLines(data,
        [
            """{"messages":[{"role":"system","content":"Answer briefly."},{"role":"user","content":"Who posted first?"},{"role":"assistant","content":"U04XYZ8ABCD"}]}""",
            string.Empty,
            """{"messages":[{"role":"user","content":[{"type":"text","text":"Question: "},{"type":"text","text":"which channel?\nAnswer:"}]},{"role":"assistant","content":"#general"}]}""",
        ]);
        using var vocabulary = ModelVocabulary.Load(tiny.Model);
        var set = TrainingSet.Load(data, vocabulary, messages => ChatPrompt.Render(messages), 2048, CancellationToken.None);

        Assert.Equal(2, set.Sequences.Count);
        var conversation = ChatPrompt.Render([new ChatMessage(ChatRole.System, "Answer briefly."), new ChatMessage(ChatRole.User, "Who posted first?")]);
        Assert.Equal("system: Answer briefly.\nuser: Who posted first?\nassistant:", conversation);
        int[] expected = [.. vocabulary.Tokenize(conversation, addBos: true), .. vocabulary.Tokenize("U04XYZ8ABCD", addBos: false), vocabulary.EndOfSequence];
        Assert.Equal(expected, set.Sequences[0].Tokens);
        Assert.Equal(vocabulary.Tokenize(conversation, addBos: true).Length, set.Sequences[0].AnswerStart);
        Assert.Equal(1, set.Sequences[0].Tokens[0]);
        Assert.Equal(2, set.Sequences[0].Tokens[^1]);

        // A lone user message is the prompt as it is, as inference sends an eval's prompt.
        Assert.Equal(vocabulary.Tokenize("Question: which channel?\nAnswer:", addBos: true), set.Sequences[1].Tokens[..set.Sequences[1].AnswerStart]);
    }

    [Fact]
    public void Load_UsesTheRendererItIsGiven()
    {
        var data = Path.Combine(_folder, "one.jsonl");
        File.WriteAllLines(data, ["""{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]}"""]);
        using var vocabulary = ModelVocabulary.Load(tiny.Model);
        var set = TrainingSet.Load(data, vocabulary, messages => $"<|user|>{messages[^1].Text}<|assistant|>", 2048, CancellationToken.None);
        Assert.Equal(vocabulary.Tokenize("<|user|>hi<|assistant|>", addBos: true), set.Sequences[0].Tokens[..set.Sequences[0].AnswerStart]);
    }

    [Fact]
    public void Load_SkipsAndCountsExamplesAboveTheMaximumLength()
    {
        var data = Path.Combine(_folder, "mixed.jsonl");
        File.WriteAllLines(data,
        [
            """{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]}""",
            $$"""{"messages":[{"role":"user","content":"{{string.Join(' ', Enumerable.Repeat("many words here", 50))}}"},{"role":"assistant","content":"ok"}]}""",
        ]);
        using var vocabulary = ModelVocabulary.Load(tiny.Model);
        var set = TrainingSet.Load(data, vocabulary, messages => ChatPrompt.Render(messages), 32, CancellationToken.None);
        Assert.Single(set.Sequences);
        Assert.Equal(1, set.Skipped);
    }
}
