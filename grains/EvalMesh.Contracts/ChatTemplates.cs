namespace EvalMesh.Contracts;

/// <summary>
/// How a local model is sent a conversation (an endpoint's <c>chat-template</c>): <c>auto</c>, the model's own template
/// from its GGUF metadata (<c>tokenizer.chat_template</c>; none if it has none), <c>none</c>, the messages as plain text,
/// or a template llama.cpp has built in, by name.
/// </summary>
public static class ChatTemplates
{
    /// <summary>The model's own template, or none if its file has none.</summary>
    public const string Auto = "auto";

    /// <summary>No template: a lone user message is the prompt as it is; a conversation is "role: text" lines ending with "assistant:".</summary>
    public const string None = "none";

    /// <summary>
    /// The templates llama.cpp (as LLamaSharp 0.30.0 ships it) has built in, as <c>llama_chat_builtin_templates</c> lists
    /// them; a test checks the list against the native library.
    /// </summary>
    public static IReadOnlyList<string> BuiltIn { get; } =
    [
        "bailing", "bailing-think", "bailing2", "chatglm3", "chatglm4", "chatml", "command-r", "deepseek", "deepseek-ocr",
        "deepseek2", "deepseek3", "exaone-moe", "exaone3", "exaone4", "falcon3", "gemma", "gigachat", "glmedge", "gpt-oss",
        "granite", "granite-4.0", "granite-4.1", "grok-2", "hunyuan-dense", "hunyuan-moe", "hunyuan-vl", "kimi-k2", "llama2",
        "llama2-sys", "llama2-sys-bos", "llama2-sys-strip", "llama3", "llama4", "megrez", "minicpm", "mistral-v1",
        "mistral-v3", "mistral-v3-tekken", "mistral-v7", "mistral-v7-tekken", "monarch", "openchat", "orion",
        "pangu-embedded", "phi3", "phi4", "rwkv-world", "seed_oss", "smolvlm", "solar-open", "vicuna", "vicuna-orca",
        "yandex", "zephyr",
    ];

    /// <summary>Every name an endpoint may give: <see cref="Auto"/>, <see cref="None"/> and the built-in ones.</summary>
    public static IReadOnlyList<string> Names { get; } = [Auto, None, .. BuiltIn];
}
