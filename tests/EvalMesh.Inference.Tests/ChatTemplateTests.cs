using System.Runtime.InteropServices;
using System.Text;
using EvalMesh.Abstractions;
using EvalMesh.Contracts;
using EvalMesh.Inference.Gguf;
using EvalMesh.Inference.Llama;
using EvalMesh.Inference.Tiny;
using LLama;
using LLama.Native;
using Microsoft.Extensions.Logging.Abstractions;

namespace EvalMesh.Inference.Tests;

/// <summary>Prompts rendered with a model's chat template, through llama.cpp's <c>llama_chat_apply_template</c>.</summary>
public sealed class ChatTemplateTests : IDisposable
{
    private static readonly ChatTurn[] Conversation = [new("system", "You answer."), new("user", "Hi there")];

    // What llama.cpp renders, written out: a changed rendering must be noticed, not followed.
    private static readonly Dictionary<string, string> Rendered = new(StringComparer.Ordinal)
    {
        ["chatml"] = "<|im_start|>system\nYou answer.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n",
        ["llama3"] = "<|start_header_id|>system<|end_header_id|>\n\nYou answer.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
        ["gemma"] = "<start_of_turn>user\nYou answer.\n\nHi there<end_of_turn>\n<start_of_turn>model\n",
        ["mistral-v7"] = "[SYSTEM_PROMPT] You answer.[/SYSTEM_PROMPT][INST] Hi there[/INST]",
    };

    public static TheoryData<string> Templates => [.. Rendered.Keys];

    private readonly string _folder = Directory.CreateTempSubdirectory("evalmesh-templates-").FullName;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private LoadedModel Model(string? chatTemplate)
    {
        LlamaRuntime.EnsureConfigured(NullLogger.Instance);
        var files = TinyModel.Write(Path.Combine(_folder, chatTemplate ?? "plain"), adapters: 0, chatTemplate: chatTemplate);
        return LoadedModel.Load(GgufValidator.ValidateModel(files.Model), new ModelHostOptions { ContextSize = 2048 });
    }

    private static RenderedPrompt Render(LoadedModel model, InferenceRequest request) => PromptRenderer.Render(model.Tokenizer.ChatTemplate, "tiny-llama.gguf", request);

    private static string LlamaCpp(string template, IEnumerable<ChatTurn> messages)
    {
        var chat = new LLamaTemplate(template) { AddAssistant = true };
        foreach (var message in messages)
        {
            chat.Add(message.Role, message.Content);
        }

        return Encoding.UTF8.GetString(chat.Apply());
    }

    [Fact]
    public unsafe void BuiltInNames_AreExactlyTheTemplatesLlamaCppHasBuiltIn()
    {
        LlamaRuntime.EnsureConfigured(NullLogger.Instance);
        var names = new IntPtr[256];
        int count;
        fixed (IntPtr* first = names)
        {
            count = NativeApi.llama_chat_builtin_templates((char**)first, (nuint)names.Length);
        }

        Assert.Equal(names.Take(count).Select(n => Marshal.PtrToStringUTF8(n)!).Order(StringComparer.Ordinal), ChatTemplates.BuiltIn.Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Templates))]
    public void ModelsOwnTemplate_RendersAsLlamaCppDoes(string template)
    {
        var reference = Rendered[template];
        using var model = Model(template);
        Assert.Equal(template, model.Tokenizer.ChatTemplate);
        var rendered = Render(model, new InferenceRequest(Conversation, GenerationOptions.Greedy));
        Assert.Equal(reference, rendered.Text);
        Assert.Equal(LlamaCpp(template, Conversation), rendered.Text);
        Assert.True(rendered.Templated);
    }

    [Fact]
    public void NamedTemplate_OverridesTheModelsOwn_AndNoneSendsTheTextAsItIs()
    {
        using var model = Model("chatml");
        Assert.Equal(Rendered["llama3"], Render(model, new InferenceRequest(Conversation, GenerationOptions.Greedy, ChatTemplate: "llama3")).Text);
        Assert.Equal("system: You answer.\nuser: Hi there\nassistant:", Render(model, new InferenceRequest(Conversation, GenerationOptions.Greedy, ChatTemplate: ChatTemplates.None)).Text);
        Assert.Equal("Hi there", Render(model, new InferenceRequest("Hi there", GenerationOptions.Greedy)).Text);

        // A model without a template of its own is sent plain text under auto.
        using var plain = Model(null);
        Assert.Null(plain.Tokenizer.ChatTemplate);
        Assert.Equal("system: You answer.\nuser: Hi there\nassistant:", Render(plain, new InferenceRequest(Conversation, GenerationOptions.Greedy)).Text);
    }

    [Fact]
    public void SharedPrefix_EndsInsideTheTemplatedPrompt_WhereTheContextEnds()
    {
        using var model = Model("llama3");
        const string Context = "Records:\nmessage 1\nmessage 2\n";
        var request = new InferenceRequest([new("system", "You answer."), new("user", Context + "Question: which?")], GenerationOptions.Greedy, SharedPrefix: Context.Length);
        var rendered = Render(model, request);
        Assert.EndsWith("<|start_header_id|>user<|end_header_id|>\n\n" + Context, rendered.Text[..rendered.SharedPrefix], StringComparison.Ordinal);
    }

    [Fact]
    public void ATemplateLlamaCppDoesNotKnow_IsAClearError()
    {
        using var model = Model("{% for m in messages %}{{ m.nothing_known }}{% endfor %}");
        var ex = Assert.Throws<InferenceException>(() => Render(model, new InferenceRequest(Conversation, GenerationOptions.Greedy)));
        Assert.Equal(InferenceProblem.ChatTemplateUnsupported, ex.Problem);
        Assert.Contains("chat-template", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TemplatedRequests_AreDecodedAsTheTemplateRendersThem_AndReuseTheirSharedContext()
    {
        var files = TinyModel.Write(Path.Combine(_folder, "host"), adapters: 0, chatTemplate: "chatml");
        var context = "Records:\n" + string.Concat(Enumerable.Range(1, 40).Select(i => $"message {i}: U0{i % 7} posted about BigQuery in #data-eng\n"));
        InferenceRequest Ask(string question) => new([new("system", "You answer."), new("user", context + question)], new GenerationOptions(8), SharedPrefix: context.Length);
        using var host = TinyModelFixture.Host();
        var served = new ModelFiles(files.Model);
        var first = await host.InferAsync(served, Ask("Question: who posted message 3?"), Token);
        var second = await host.InferAsync(served, Ask("Question: who posted message 9?"), Token);

        // The host decodes llama.cpp's rendering, the shared context and the rest tokenized apart.
        using var model = Model("chatml");
        var text = LlamaCpp("chatml", Ask("Question: who posted message 9?").Messages);
        var split = text.IndexOf(context, StringComparison.Ordinal) + context.Length;
        Assert.Equal(model.Tokenizer.Tokenize(text[..split], addBos: true, special: true).Length + model.Tokenizer.Tokenize(text[split..], addBos: false, special: true).Length, second.PromptTokens);
        Assert.Equal(0, first.CachedTokens);
        Assert.InRange(second.CachedTokens, 300, second.PromptTokens - 1);

        // A run counts a prompt before sending it from the model's vocabulary alone, and gets the host's count.
        using var vocabulary = ModelVocabulary.Load(files.Model);
        Assert.Equal(second.PromptTokens, vocabulary.CountPromptTokens(Ask("Question: who posted message 9?").Messages, ChatTemplates.Auto, context.Length));

        using var plain = TinyModelFixture.Host(o => o.PrefixReuse = false);
        Outputs.AssertSameOrNearTie(await plain.InferAsync(served, Ask("Question: who posted message 9?"), Token), second);
    }
}
