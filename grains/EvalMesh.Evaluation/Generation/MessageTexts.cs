using System.Text.Json.Nodes;

namespace EvalMesh.Evaluation.Generation;

/// <summary>
/// Message texts written by a model over the generator's structure: each message is shown to the model with its
/// generated draft (and a reply with its thread's first message), and the model writes the text; users, channels,
/// timestamps, threads, reactions and permalinks stay the generator's.
/// </summary>
public static class MessageTexts
{
    /// <summary>The prompt template: the message (and its thread's first message), then the instruction.</summary>
    public const string Prompt = """
        Below are messages from a team's Slack workspace as {{format}}.

        {{context}}

        {{question}}
        """;

    /// <summary>The records a message's call shows (1-based, ascending): its thread's first message, if it replies in one, and itself.</summary>
    public static IReadOnlyList<int> Records(IReadOnlyList<JsonObject> messages, int index)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var message = messages[index];
        var thread = message["thread_ts"]?.GetValue<string>();
        var first = thread is null || thread == message["ts"]!.GetValue<string>() ? -1 : messages.Take(index).ToList().FindIndex(m => m["ts"]!.GetValue<string>() == thread);
        return first < 0 ? [index + 1] : [first + 1, index + 1];
    }

    /// <summary>What the model is asked for one message.</summary>
    public static string Instruction(JsonObject message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var profile = message["user_profile"]!;
        var reply = message["thread_ts"] is { } thread && thread.GetValue<string>() != message["ts"]!.GetValue<string>();
        return $"""
            Write the text of the message with ts {message["ts"]} as {profile["display_name"]} ({profile["title"]}) would post it in #{message["channel_name"]}{(reply ? ", replying in the thread above" : string.Empty)}. Its text above is a draft: keep what it is about, its language and the names of the tools and products it mentions.
            Reply with the message text only.
            """;
    }

    /// <summary>The most characters a message's text may have (Slack's own limit is 40,000; a chat message is far shorter).</summary>
    public const int MaxLength = 4000;

    /// <summary>
    /// The text of a model's reply (without the quotes or code fence a model may wrap it in), or why it cannot be a
    /// message: empty, a refusal, too long, or holding control characters or U+FFFD (bytes that were not UTF-8).
    /// </summary>
    public static (string? Text, string? Problem) Read(string reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        var text = reply.Trim();
        if (text.StartsWith("```", StringComparison.Ordinal) && text.EndsWith("```", StringComparison.Ordinal) && text.Length >= 6)
        {
            text = text[3..^3].Trim();
        }

        if (text.Length >= 2 && text[0] == '"' && text[^1] == '"')
        {
            text = text[1..^1].Trim();
        }

        var problem = text.Length == 0 ? "an empty reply"
            : ModelReplies.IsRefusal(text) ? "a refusal"
            : text.Length > MaxLength ? $"longer than {MaxLength:N0} characters"
            : text.Any(c => char.IsControl(c) && c is not ('\n' or '\t')) ? "control characters"
            : text.Contains('\uFFFD', StringComparison.Ordinal) ? "bytes that are not UTF-8 (U+FFFD)"
            : null;
        return problem is null ? (text, null) : (null, problem);
    }
}
