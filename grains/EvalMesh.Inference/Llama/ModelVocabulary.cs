using EvalMesh.Abstractions;
using EvalMesh.Evaluation.Tokenization;
using LLama;
using LLama.Common;
using Microsoft.Extensions.Logging.Abstractions;

namespace EvalMesh.Inference.Llama;

/// <summary>
/// A GGUF model's own tokenizer and chat template, with only its vocabulary loaded (no weights), so that counting what
/// a prompt costs the model, or preparing its training data, needs neither the model's memory nor a model host.
/// </summary>
public sealed class ModelVocabulary : ITokenCounter, IDisposable
{
    private readonly LLamaWeights _weights;
    private readonly string _path;
    private readonly PromptTokenizer _tokenizer;

    private ModelVocabulary(LLamaWeights weights, string path)
    {
        _weights = weights;
        _path = path;
        _tokenizer = new PromptTokenizer(weights, Path.GetFileName(path));
    }

    /// <summary>The model's file name without its extension, such as <c>tiny-llama</c>.</summary>
    public string Name => Path.GetFileNameWithoutExtension(_path);

    /// <summary>The model's own chat template (<c>tokenizer.chat_template</c>), if it has one.</summary>
    public string? ChatTemplate => _tokenizer.ChatTemplate;

    /// <summary>The end-of-sequence token, if the model has one.</summary>
    public int? EndOfSequence => _weights.Vocab.EOS is { } eos ? (int)eos : null;

    /// <summary>Loads a model's vocabulary.</summary>
    /// <exception cref="InferenceException">llama.cpp cannot read the file.</exception>
    public static ModelVocabulary Load(string modelPath)
    {
        ArgumentNullException.ThrowIfNull(modelPath);
        LlamaRuntime.EnsureConfigured(NullLogger.Instance);
        try
        {
            return new ModelVocabulary(LLamaWeights.LoadFromFile(new ModelParams(modelPath) { VocabOnly = true, GpuLayerCount = 0 }), modelPath);
        }
        catch (Exception ex) when (ex is LLama.Exceptions.RuntimeError or InvalidOperationException)
        {
            throw new InferenceException(InferenceProblem.ModelLoadFailed, $"{modelPath}: llama.cpp could not load its vocabulary: {ex.Message}", ex);
        }
    }

    /// <summary>Tokens of <paramref name="text"/>: BOS first when <paramref name="addBos"/> and the model adds one; <paramref name="special"/> reads a template's markers as tokens.</summary>
    public int[] Tokenize(string text, bool addBos, bool special = false) => _tokenizer.Tokenize(text, addBos, special);

    /// <summary>
    /// Tokens of an untemplated prompt whose first <paramref name="sharedPrefix"/> characters are a head it shares
    /// with other prompts, tokenized as the model host tokenizes it: the head (with BOS), then the rest apart.
    /// </summary>
    public int[] TokenizePrompt(string prompt, int sharedPrefix)
    {
        var (head, rest) = _tokenizer.Tokenize(new RenderedPrompt(prompt, Math.Clamp(sharedPrefix, 0, prompt.Length), Templated: false));
        return [.. head, .. rest];
    }

    /// <inheritdoc />
    public int CountTokens(string text) => Tokenize(text, addBos: false).Length;

    /// <summary>
    /// The tokens a conversation costs the model as a prompt, as the model host counts them: rendered with
    /// <paramref name="chatTemplate"/>, with BOS, and the first <paramref name="sharedPrefix"/> characters of the last
    /// message (a context shared with other prompts) tokenized apart.
    /// </summary>
    public int CountPromptTokens(IReadOnlyList<ChatTurn> messages, string chatTemplate, int sharedPrefix = 0)
    {
        var (head, rest) = _tokenizer.Tokenize(_tokenizer.Render(new InferenceRequest(messages, GenerationOptions.Greedy, sharedPrefix, chatTemplate)));
        return head.Length + rest.Length;
    }

    /// <inheritdoc />
    public void Dispose() => _weights.Dispose();
}
