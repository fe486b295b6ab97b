using System.Text.RegularExpressions;

namespace EvalMesh.Evaluation.Generation;

/// <summary>What the generators recognise in a model's free-text reply.</summary>
internal static partial class ModelReplies
{
    /// <summary>A reply that opens by declining ("I'm sorry, I can't …", "As an AI …") and holds no JSON.</summary>
    public static bool IsRefusal(string reply) => !reply.Contains('{', StringComparison.Ordinal) && RefusalWords().IsMatch(reply);

    [GeneratedRegex(@"^\W*(i['’]?m sorry|i am sorry|sorry|i cannot|i can['’]?t|i can not|i am unable|i['’]?m unable|i am not able|i won['’]?t|as an ai)\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex RefusalWords();
}
