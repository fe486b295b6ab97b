using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace EvalMesh.Training.Data;

/// <summary>One chat example: the messages before the answer, and the answer.</summary>
/// <param name="Line">Its 1-based line in the file.</param>
/// <param name="Prompt">Every message before the last.</param>
/// <param name="Answer">The last message's text, the assistant's.</param>
internal sealed record ChatExample(int Line, IReadOnlyList<ChatMessage> Prompt, string Answer);

/// <summary>
/// Reads JSONL in the OpenAI chat fine-tuning format (what <c>evalmesh export-finetune</c> writes), strictly: a line
/// that is not an example is an error naming the file and the line, never skipped in silence. Blank lines are skipped.
/// Content is a string or an array of text parts; OpenAI's per-message "weight" is not read. Writes it too.
/// </summary>
internal static class ChatJsonl
{
    /// <exception cref="TrainingException">The file is missing or a line is not a chat example.</exception>
    public static IReadOnlyList<ChatExample> Read(string path, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new TrainingException(path, TrainingProblem.DataMissing, "no such file");
        }

        var examples = new List<ChatExample>();
        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        var number = 0;
        while (reader.ReadLine() is { } line)
        {
            number++;
            if ((number & 1023) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            if (!string.IsNullOrWhiteSpace(line))
            {
                examples.Add(Parse(path, number, line));
            }
        }

        return examples;
    }

    private static ChatExample Parse(string path, int line, string text)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text);
        }
        catch (JsonException ex)
        {
            throw Malformed(path, line, $"not JSON ({ex.Message})");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
            {
                throw Malformed(path, line, "expected an object with a \"messages\" array");
            }

            var parsed = new List<ChatMessage>();
            var index = 0;
            foreach (var message in messages.EnumerateArray())
            {
                index++;
                parsed.Add(Message(path, line, index, message));
            }

            if (parsed.Count == 0)
            {
                throw Malformed(path, line, "\"messages\" is empty");
            }

            var last = parsed[^1];
            if (last.Role != ChatRole.Assistant)
            {
                throw Malformed(path, line, $"the last message is from '{last.Role.Value}', not the assistant: there is no answer to train on");
            }

            if (parsed.Count == 1)
            {
                throw Malformed(path, line, "there is no message before the assistant's answer");
            }

            if (string.IsNullOrWhiteSpace(last.Text))
            {
                throw Malformed(path, line, "the assistant's answer is empty");
            }

            return new ChatExample(line, parsed[..^1], last.Text);
        }
    }

    private static ChatMessage Message(string path, int line, int index, JsonElement message)
    {
        if (message.ValueKind != JsonValueKind.Object)
        {
            throw Malformed(path, line, $"message {index} is not an object");
        }

        var role = message.TryGetProperty("role", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString()! : null;
        var chatRole = role switch
        {
            "system" => ChatRole.System,
            "user" => ChatRole.User,
            "assistant" => ChatRole.Assistant,
            null => throw Malformed(path, line, $"message {index} has no \"role\" string"),
            _ => throw Malformed(path, line, $"message {index} has role '{role}'; expected system, user or assistant"),
        };
        if (!message.TryGetProperty("content", out var content))
        {
            throw Malformed(path, line, $"message {index} has no \"content\"");
        }

        return new ChatMessage(chatRole, Content(path, line, index, content));
    }

    private static string Content(string path, int line, int index, JsonElement content)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            return content.GetString()!;
        }

        if (content.ValueKind != JsonValueKind.Array)
        {
            throw Malformed(path, line, $"message {index} has \"content\" that is neither a string nor an array of text parts");
        }

        var text = new StringBuilder();
        foreach (var part in content.EnumerateArray())
        {
            if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String
                || type.GetString() != "text" || !part.TryGetProperty("text", out var value) || value.ValueKind != JsonValueKind.String)
            {
                throw Malformed(path, line, $"message {index} has a content part that is not {{\"type\":\"text\",\"text\":...}}");
            }

            text.Append(value.GetString());
        }

        return text.ToString();
    }

    private static TrainingException Malformed(string path, int line, string detail) => new(path, TrainingProblem.MalformedData, detail, line);

    /// <summary>Writes examples of one user message and the assistant's answer, one per line, streamed.</summary>
    public static void Write(string path, IEnumerable<(string Prompt, string Answer)> examples)
    {
        ArgumentNullException.ThrowIfNull(examples);
        using var stream = File.Create(path);
        using var writer = new Utf8JsonWriter(stream);
        foreach (var (prompt, answer) in examples)
        {
            writer.WriteStartObject();
            writer.WriteStartArray("messages");
            WriteMessage(writer, "user", prompt);
            WriteMessage(writer, "assistant", answer);
            writer.WriteEndArray();
            writer.WriteEndObject();
            writer.Flush();
            stream.WriteByte((byte)'\n');
            writer.Reset();
        }
    }

    private static void WriteMessage(Utf8JsonWriter writer, string role, string content)
    {
        writer.WriteStartObject();
        writer.WriteString("role", role);
        writer.WriteString("content", content);
        writer.WriteEndObject();
    }
}
