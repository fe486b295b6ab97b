using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using EvalMesh.Evaluation.Scoring;
using EvalMesh.Evaluation.Suites;

namespace EvalMesh.Evaluation.Generation;

/// <summary>
/// Test cases over a Slack-style message dataset written by a model and checked against the data, in the generator's
/// five categories. The model proposes a question, its reasoning and the values its answer depends on (a record
/// number, a user, a phrase and the records that mention it, a channel); the expected permalinks are always computed
/// from the records, never taken from the model. A proposal the data does not support is dropped with its reason.
/// </summary>
public static partial class CaseProposals
{
    /// <summary>The prompt template of proposal calls: the records (each with its number) and the instruction.</summary>
    public const string Prompt = """
        You write test questions about a Slack export. Its messages are below as {{format}}, one per line, each with its record number.

        {{context}}

        {{question}}
        """;

    private static readonly ScorerSpec UrlSet = new("url-set");

    /// <summary>The drop reason as output and JSON name it: <c>not-json</c>, <c>unsupported</c> …</summary>
    public static string Name(DropReason reason) => KebabBoundary().Replace(reason.ToString(), "$1-$2").ToLowerInvariant();

    /// <summary>
    /// Checks that every record has the fields <paramref name="categories"/> need (a permalink always; a user, a text,
    /// a channel name, a timestamp and threads where a category asks about them).
    /// </summary>
    /// <exception cref="EvalMeshInputException">A record lacks a field a category needs (the file, record and field), or no record is in a thread.</exception>
    public static void CheckFields(IReadOnlyList<JsonObject> records, IEnumerable<string> categories, string file)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(categories);
        foreach (var category in categories)
        {
            var fields = category switch
            {
                "index" => ["permalink"],
                "content" => ["permalink", "text"],
                "user" => ["permalink", "user"],
                "compound" => ["permalink", "user", "channel_name"],
                "thread" => new[] { "permalink", "ts" },
                _ => throw new UnknownNameException("category", category, SlackGenerator.Categories),
            };
            foreach (var (index, record) in records.Index())
            {
                if (fields.FirstOrDefault(f => record[f] is not JsonValue value || value.GetValueKind() != JsonValueKind.String) is { } missing)
                {
                    throw new EvalMeshInputException($"record {index + 1} has no text field '{missing}', which {category} questions need (leave the category out with --categories)", file, line: index + 1, setting: missing);
                }
            }

            if (category == "thread" && !records.Any(r => Text(r, "thread_ts") is { } thread && thread != Text(r, "ts")))
            {
                throw new EvalMeshInputException("no record is a reply in a thread (a 'thread_ts' other than its 'ts'), which thread questions need (leave the category out with --categories)", file, setting: "thread_ts");
            }
        }
    }

    /// <summary>
    /// The records a proposal for <paramref name="category"/> can be built around (1-based): every record, but for
    /// thread questions the first messages of threads with replies (when the dataset holds any).
    /// </summary>
    public static IReadOnlyList<int> Anchors(IReadOnlyList<JsonObject> records, string category)
    {
        ArgumentNullException.ThrowIfNull(records);
        List<int> all = [.. Enumerable.Range(1, records.Count)];
        if (category != "thread")
        {
            return all;
        }

        // A thread's first message is one whose timestamp some other message replies under (one pass, not one per record).
        var repliedTo = records.Where(r => Text(r, "thread_ts") is { } thread && thread != Text(r, "ts")).Select(r => Text(r, "thread_ts")!).ToHashSet(StringComparer.Ordinal);
        List<int> firsts = [.. all.Where(n => Text(records[n - 1], "ts") is { } ts && repliedTo.Contains(ts) && (Text(records[n - 1], "thread_ts") ?? ts) == ts)];
        return firsts.Count > 0 ? firsts : all;
    }

    /// <summary>What a proposal call asks for: one case of <paramref name="category"/> built around record <paramref name="anchor"/> (1-based).</summary>
    public static string Instruction(string category, int anchor)
    {
        var (what, fields) = category switch
        {
            "index" => ("asks for the permalink of one message by its record number, which the question states", "\"record\": <the record number>"),
            "content" => ("asks for the permalinks of every message that mentions a word or phrase, which the question quotes", "\"keyword\": \"<the phrase>\", \"records\": [<the numbers of the records that mention it>]"),
            "user" => ("asks for the permalinks of every message posted by one user, named in the question by their user id", "\"user\": \"<the user id>\""),
            "compound" => ("asks for the permalinks of every message posted by one user (by user id) in one channel (by name), optionally only inside or only outside threads", "\"user\": \"<the user id>\", \"channel\": \"<the channel name>\", \"in_thread\": <true, false or null for either>, \"records\": [<the numbers of the records that match>]"),
            "thread" => ("asks for the permalinks of every reply in one thread, naming the thread by its first message's permalink", "\"record\": <the record number of the thread's first message>"),
            _ => throw new UnknownNameException("category", category, SlackGenerator.Categories),
        };
        return string.Create(CultureInfo.InvariantCulture, $$"""
            Write one {{category}} question: it {{what}}. Build it around record {{anchor}}.
            Reply with one JSON object and nothing else:
            {"question": "<the question>", "reasoning": "<why the records give its answer>", {{fields}}}
            """);
    }

    /// <summary>
    /// Checks a model's reply to <see cref="Instruction"/> against the records and computes the case's expected
    /// permalinks from them.
    /// </summary>
    public static ProposalVerdict Judge(string category, string id, string reply, IReadOnlyList<JsonObject> records)
    {
        ArgumentNullException.ThrowIfNull(reply);
        ArgumentNullException.ThrowIfNull(records);
        if (Parse(reply) is not { } proposal)
        {
            return ModelReplies.IsRefusal(reply)
                ? ProposalVerdict.Drop(DropReason.Refusal, $"the model declined: {EvalMeshInputException.Shown(reply.Trim())}")
                : ProposalVerdict.Drop(DropReason.NotJson, $"no JSON object in the reply: {EvalMeshInputException.Shown(reply.Trim())}");
        }

        if (Text(proposal, "question") is not { Length: > 0 } question)
        {
            return Missing("question");
        }

        if (Text(proposal, "reasoning") is not { Length: > 0 } reasoning)
        {
            return Missing("reasoning");
        }

        var found = category switch
        {
            "index" => Index(proposal, question, records),
            "content" => Content(proposal, question, records),
            "user" => User(proposal, question, records),
            "compound" => Compound(proposal, question, records),
            "thread" => Thread(proposal, question, records),
            _ => throw new UnknownNameException("category", category, SlackGenerator.Categories),
        };
        return found.Answer is { } answer
            ? ProposalVerdict.Keep(new TestCase(id, question, [.. answer.Select(n => Text(records[n - 1], "permalink")!)], UrlSet, [category]), reasoning)
            : found.Verdict!;
    }

    private static (IReadOnlyList<int>? Answer, ProposalVerdict? Verdict) Index(JsonObject proposal, string question, IReadOnlyList<JsonObject> records)
    {
        var (found, problem) = Record(proposal, "record", records);
        if (found is not { } record)
        {
            return (null, problem);
        }

        return Mentions(question, record.ToString(CultureInfo.InvariantCulture), wholeNumber: true)
            ? ([record], null)
            : (null, ProposalVerdict.Drop(DropReason.QuestionLacksCondition, $"the question does not state record number {record}"));
    }

    private static (IReadOnlyList<int>? Answer, ProposalVerdict? Verdict) Thread(JsonObject proposal, string question, IReadOnlyList<JsonObject> records)
    {
        var (found, problem) = Record(proposal, "record", records);
        if (found is not { } record)
        {
            return (null, problem);
        }

        var replies = Replies(records, record);
        if (replies.Count == 0)
        {
            return (null, ProposalVerdict.Drop(DropReason.NotAThread, $"record {record} starts no thread with replies"));
        }

        var first = records[record - 1];
        return Mentions(question, Text(first, "permalink")!) || Mentions(question, Text(first, "ts")!)
            ? (replies, null)
            : (null, ProposalVerdict.Drop(DropReason.QuestionLacksCondition, $"the question does not name the thread by record {record}'s permalink or timestamp"));
    }

    private static (IReadOnlyList<int>? Answer, ProposalVerdict? Verdict) User(JsonObject proposal, string question, IReadOnlyList<JsonObject> records)
    {
        var (user, problem) = Poster(proposal, records);
        if (user is null)
        {
            return (null, problem);
        }

        return Mentions(question, user)
            ? (Where(records, r => Text(r, "user") == user), null)
            : (null, ProposalVerdict.Drop(DropReason.QuestionLacksCondition, $"the question does not name user {user}"));
    }

    private static (IReadOnlyList<int>? Answer, ProposalVerdict? Verdict) Content(JsonObject proposal, string question, IReadOnlyList<JsonObject> records)
    {
        if (Text(proposal, "keyword")?.Trim() is not { Length: >= 2 } keyword)
        {
            return (null, Missing("keyword"));
        }

        if (!Mentions(question, keyword))
        {
            return (null, ProposalVerdict.Drop(DropReason.QuestionLacksCondition, $"the question does not quote '{EvalMeshInputException.Shown(keyword)}'"));
        }

        var answer = Where(records, r => Text(r, "text")!.Contains(keyword, StringComparison.OrdinalIgnoreCase));
        return Supported(proposal, records, answer, $"mentions '{EvalMeshInputException.Shown(keyword)}'");
    }

    private static (IReadOnlyList<int>? Answer, ProposalVerdict? Verdict) Compound(JsonObject proposal, string question, IReadOnlyList<JsonObject> records)
    {
        var (user, problem) = Poster(proposal, records);
        if (user is null)
        {
            return (null, problem);
        }

        if (Text(proposal, "channel")?.Trim().TrimStart('#') is not { Length: > 0 } channel)
        {
            return (null, Missing("channel"));
        }

        if (!records.Any(r => Text(r, "channel_name") == channel))
        {
            return (null, ProposalVerdict.Drop(DropReason.UnknownChannel, $"no message is in #{EvalMeshInputException.Shown(channel)}"));
        }

        bool? inThread;
        switch (proposal["in_thread"])
        {
            case null:
                inThread = null;
                break;
            case JsonValue flag when flag.GetValueKind() is JsonValueKind.True or JsonValueKind.False:
                inThread = flag.GetValue<bool>();
                break;
            default:
                return (null, Missing("in_thread"));
        }

        if (!Mentions(question, user) || !Mentions(question, channel))
        {
            return (null, ProposalVerdict.Drop(DropReason.QuestionLacksCondition, $"the question does not name both user {user} and #{EvalMeshInputException.Shown(channel)}"));
        }

        var answer = Where(records, r => Text(r, "user") == user && Text(r, "channel_name") == channel && (inThread is null || (Text(r, "thread_ts") is not null) == inThread));
        var where = inThread switch { true => " inside a thread", false => " outside any thread", null => string.Empty };
        return Supported(proposal, records, answer, $"was posted by {user} in #{channel}{where}");
    }

    // The records the model relies on must all satisfy the question's condition ("mentions 'x'"); the answer is every record that does.
    private static (IReadOnlyList<int>? Answer, ProposalVerdict? Verdict) Supported(JsonObject proposal, IReadOnlyList<JsonObject> records, IReadOnlyList<int> answer, string condition)
    {
        if (proposal["records"] is not JsonArray named || named.Any(n => n is not JsonValue v || v.GetValueKind() != JsonValueKind.Number || !v.TryGetValue<int>(out _)))
        {
            return (null, Missing("records"));
        }

        var numbers = named.Select(n => n!.GetValue<int>()).ToList();
        if (numbers.Count == 0)
        {
            return (null, ProposalVerdict.Drop(DropReason.NoRecordsNamed, "the model named no record it relies on"));
        }

        if (numbers.FirstOrDefault(n => n < 1 || n > records.Count) is var beyond and not 0)
        {
            return (null, ProposalVerdict.Drop(DropReason.UnknownRecord, $"record {beyond} is not in the dataset, which has {records.Count}"));
        }

        if (answer.Count == 0)
        {
            return (null, ProposalVerdict.Drop(DropReason.EmptyAnswer, $"no message {condition}"));
        }

        return numbers.FirstOrDefault(n => !answer.Contains(n)) is var unsupported and not 0
            ? (null, ProposalVerdict.Drop(DropReason.Unsupported, $"record {unsupported} is not a message that {condition}"))
            : (answer, null);
    }

    private static (int? Record, ProposalVerdict? Verdict) Record(JsonObject proposal, string field, IReadOnlyList<JsonObject> records)
    {
        int number;
        if (proposal[field] is JsonValue value && value.GetValueKind() == JsonValueKind.Number && value.TryGetValue<int>(out var n))
        {
            number = n;
        }
        else if (proposal[field] is JsonValue text && text.GetValueKind() == JsonValueKind.String && int.TryParse(text.GetValue<string>(), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
        {
            number = parsed;
        }
        else
        {
            return (null, Missing(field));
        }

        return number >= 1 && number <= records.Count
            ? (number, null)
            : (null, ProposalVerdict.Drop(DropReason.UnknownRecord, $"record {number} is not in the dataset, which has {records.Count}"));
    }

    private static (string? User, ProposalVerdict? Verdict) Poster(JsonObject proposal, IReadOnlyList<JsonObject> records)
    {
        if (Text(proposal, "user")?.Trim().TrimStart('@') is not { Length: > 0 } user)
        {
            return (null, Missing("user"));
        }

        return records.Any(r => Text(r, "user") == user)
            ? (user, null)
            : (null, ProposalVerdict.Drop(DropReason.UnknownUser, $"user {EvalMeshInputException.Shown(user)} posted no message"));
    }

    private static List<int> Replies(IReadOnlyList<JsonObject> records, int first)
    {
        var ts = Text(records[first - 1], "ts");
        return ts is null || Text(records[first - 1], "thread_ts") is { } own && own != ts ? []
            : Where(records, r => Text(r, "thread_ts") == ts && Text(r, "ts") != ts);
    }

    private static List<int> Where(IReadOnlyList<JsonObject> records, Func<JsonObject, bool> predicate) =>
        [.. Enumerable.Range(1, records.Count).Where(n => predicate(records[n - 1]))];

    private static ProposalVerdict Missing(string field) => ProposalVerdict.Drop(DropReason.MissingField, $"the reply has no usable '{field}'");

    private static bool Mentions(string question, string value, bool wholeNumber = false) =>
        wholeNumber ? Regex.IsMatch(question, $@"(?<!\d){Regex.Escape(value)}(?!\d)", RegexOptions.None, TimeSpan.FromSeconds(1))
            : question.Contains(value, StringComparison.OrdinalIgnoreCase);

    private static string? Text(JsonObject record, string field) =>
        record[field] is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : null;

    // The reply's JSON object: the whole reply, or the span from its first '{' to its last '}' (models wrap JSON in prose or code fences).
    private static JsonObject? Parse(string reply)
    {
        var start = reply.IndexOf('{', StringComparison.Ordinal);
        var end = reply.LastIndexOf('}');
        if (start < 0 || end < start)
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(reply[start..(end + 1)]) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    [GeneratedRegex("([a-z])([A-Z])")]
    private static partial Regex KebabBoundary();
}
