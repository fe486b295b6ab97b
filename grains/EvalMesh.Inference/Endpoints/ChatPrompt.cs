using System.Text;
using Microsoft.Extensions.AI;

namespace EvalMesh.Inference.Endpoints;

/// <summary>Turns chat messages into one completion prompt for models called without a chat template.</summary>
public static class ChatPrompt
{
    /// <summary>
    /// A lone user message is the prompt as is (an eval's prompt); a conversation becomes "role: text" lines ending with
    /// "assistant:".
    /// </summary>
    public static string Render(IEnumerable<ChatMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var list = messages as IList<ChatMessage> ?? [.. messages];
        if (list.Count == 1 && list[0].Role == ChatRole.User)
        {
            return list[0].Text;
        }

        var text = new StringBuilder();
        foreach (var message in list)
        {
            text.Append(message.Role.Value).Append(": ").Append(message.Text).Append('\n');
        }

        return text.Append("assistant:").ToString();
    }
}
