using System.Text;
using EvalMesh.Abstractions;
using Microsoft.Extensions.AI;

namespace EvalMesh.Inference.Endpoints;

/// <summary>Turns chat messages into one completion prompt for models called without a chat template (<c>chat-template: none</c>).</summary>
public static class ChatPrompt
{
    /// <summary>
    /// A lone user message is the prompt as is (an eval's prompt); a conversation becomes "role: text" lines ending with
    /// "assistant:".
    /// </summary>
    public static string Render(IReadOnlyList<ChatTurn> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (messages.Count == 1 && messages[0].Role == "user")
        {
            return messages[0].Content;
        }

        var text = new StringBuilder();
        foreach (var message in messages)
        {
            text.Append(message.Role).Append(": ").Append(message.Content).Append('\n');
        }

        return text.Append("assistant:").ToString();
    }

    /// <summary>The same for <c>Microsoft.Extensions.AI</c> chat messages.</summary>
    public static string Render(IEnumerable<ChatMessage> messages) => Render(Turns(messages));

    /// <summary>Chat messages as <see cref="ChatTurn"/>s: role and text.</summary>
    public static List<ChatTurn> Turns(IEnumerable<ChatMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        return [.. messages.Select(m => new ChatTurn(m.Role.Value, m.Text))];
    }
}
