using System.Text.RegularExpressions;

namespace EvalMesh.Evaluation.Generation;

/// <summary>What the generators recognise in a model's free-text reply.</summary>
internal static partial class ModelReplies
{
    /// <summary>A reply that opens by declining the task ("I'm sorry …", "I can't help with …", "As an AI …") and holds no JSON.</summary>
    public static bool IsRefusal(string reply) => !reply.Contains('{', StringComparison.Ordinal) && RefusalWords().IsMatch(reply);

    [GeneratedRegex(@"^\W*(i['’]?m sorry|i am sorry|sorry, (but )?i\b|as an ai\b|(i|i['’]m|i am) (cannot|can['’]?t|can not|won['’]?t|will not|unable to|not able to) (help|assist|write|do|provide|comply|create|generate|fulfil|complete)\b)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex RefusalWords();
}
