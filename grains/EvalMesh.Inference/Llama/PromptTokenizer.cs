using System.Text;
using EvalMesh.Abstractions;
using LLama;

namespace EvalMesh.Inference.Llama;

/// <summary>
/// A model's tokenizer as its prompts use it, the one place that tokenizes a prompt the way the model host decodes it:
/// rendered with the model's chat template, and a shared head tokenized apart (with BOS) so that its tokens are the same
/// in every prompt that shares it, then the rest (with BOS only when there is no head). Thread-safe.
/// </summary>
internal sealed class PromptTokenizer(LLamaWeights weights, string modelFile)
{
    private const int RememberedHeads = 8;

    // Shared heads recur for every question of an eval; tokenizing one (tens of KB) costs more than a decode step.
    private readonly Lock _gate = new();
    private readonly List<(string Text, bool Special, int[] Tokens)> _heads = [];

    /// <summary>The model's own chat template from its GGUF metadata (<c>tokenizer.chat_template</c>), if it has one.</summary>
    public string? ChatTemplate => weights.Metadata.TryGetValue("tokenizer.chat_template", out var template) && template.Length > 0 ? template : null;

    /// <summary>Tokenizes text; <paramref name="special"/> parses special tokens (a chat template's markers) as such.</summary>
    public int[] Tokenize(string text, bool addBos, bool special) =>
        [.. weights.NativeHandle.Tokenize(text, addBos, special, Encoding.UTF8).Select(t => (int)t)];

    /// <summary>A request's prompt as the model sees it.</summary>
    /// <exception cref="InferenceException">Its chat template is not one llama.cpp knows.</exception>
    public RenderedPrompt Render(InferenceRequest request) => PromptRenderer.Render(ChatTemplate, modelFile, request);

    /// <summary>A prompt's tokens: its shared head's (empty without one), then the rest's.</summary>
    public (int[] Head, int[] Tail) Tokenize(RenderedPrompt prompt) =>
        (prompt.SharedPrefix > 0 ? Head(prompt.Text.AsSpan(0, prompt.SharedPrefix), prompt.Templated) : [],
         Tokenize(prompt.Text[prompt.SharedPrefix..], addBos: prompt.SharedPrefix == 0, prompt.Templated));

    private int[] Head(ReadOnlySpan<char> text, bool special)
    {
        lock (_gate)
        {
            foreach (var (known, parsed, tokens) in _heads)
            {
                if (parsed == special && text.SequenceEqual(known))
                {
                    return tokens;
                }
            }
        }

        var head = text.ToString();
        var result = Tokenize(head, addBos: true, special);
        lock (_gate)
        {
            if (_heads.Count == RememberedHeads)
            {
                _heads.RemoveAt(0);
            }

            _heads.Add((head, special, result));
        }

        return result;
    }
}
