using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using EvalMesh.Evaluation.Scoring;
using EvalMesh.Evaluation.Suites;
using static EvalMesh.Evaluation.Generation.SlackVocabulary;

namespace EvalMesh.Evaluation.Generation;

/// <summary>Slack-style messages and a test suite over them, as the seed experiment built with an LLM.</summary>
/// <param name="Messages">The messages in time order.</param>
/// <param name="Suite">Questions in five categories whose expected permalink sets are computed from the messages.</param>
public sealed record SlackDataset(IReadOnlyList<JsonObject> Messages, TestSuite Suite);

/// <summary>
/// Generates Slack-like messages (half inside threads, half not; varied line breaks and lengths; some Japanese) and a
/// test suite of index, content, user, compound and thread questions whose answers are Slack permalinks. Seeded and
/// deterministic. With <see cref="SlackGeneratorOptions.RecordsPerCase"/>, each case also names its retrieved context
/// (<see cref="TestCase.Records"/>).
/// </summary>
public static class SlackGenerator
{
    /// <summary>The categories, one tag each, in the order cases are generated.</summary>
    public static IReadOnlyList<string> Categories { get; } = ["index", "content", "user", "compound", "thread"];

    private static readonly ScorerSpec UrlSet = new("url-set");
    private static readonly long Start = new DateTimeOffset(2025, 10, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds();

    private enum Role
    {
        Standalone,
        Parent,
        Reply,
    }

    /// <summary>
    /// Generates the messages and the suite. With <paramref name="texts"/> (one per message, such as a model wrote from
    /// the generated drafts), the messages keep their structure and get those texts, and the questions are asked
    /// about them: content questions find their phrases in the new texts.
    /// </summary>
    public static SlackDataset Generate(SlackGeneratorOptions options, IReadOnlyList<string>? texts = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Messages, 4);
        ArgumentOutOfRangeException.ThrowIfNegative(options.CasesPerCategory);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.RecordsPerCase ?? 1, 1, nameof(options));
        foreach (var category in options.Categories ?? [])
        {
            CheckCategory(category);
        }

        var random = new Random(options.Seed);
        var messages = GenerateMessages(random, options);
        if (texts is not null)
        {
            ArgumentOutOfRangeException.ThrowIfNotEqual(texts.Count, messages.Count, nameof(texts));
            foreach (var (message, text) in messages.Zip(texts))
            {
                message["text"] = text;
            }
        }

        var cases = GenerateCases(random, messages, options).Where(c => options.Categories?.Contains(c.Tags[0]) ?? true).ToList();
        var name = $"slack-{options.Messages}-seed{options.Seed}{(options.RecordsPerCase is { } k ? $"-k{k}" : string.Empty)}{(options.Categories is { } only ? $"-{string.Join('+', only)}" : string.Empty)}";
        var suite = new TestSuite(name, "messages.jsonl", cases);
        return new SlackDataset(messages, suite);
    }

    /// <summary>Throws <see cref="UnknownNameException"/> unless <paramref name="name"/> is one of <see cref="Categories"/>.</summary>
    public static void CheckCategory(string name)
    {
        if (!Categories.Contains(name))
        {
            throw new UnknownNameException("category", name, Categories);
        }
    }

    /// <summary>The Slack permalink of a message: a reply also names its thread and channel.</summary>
    public static string Permalink(string workspace, string channel, string ts, string? threadTs)
    {
        var link = $"https://{workspace}.slack.com/archives/{channel}/p{ts.Replace(".", string.Empty, StringComparison.Ordinal)}";
        return threadTs is not null && threadTs != ts ? $"{link}?thread_ts={threadTs}&cid={channel}" : link;
    }

    private static List<JsonObject> GenerateMessages(Random random, SlackGeneratorOptions options)
    {
        var total = options.Messages;
        var inThreads = total / 2;
        var threadCount = Math.Max(1, inThreads / 5);
        var replyQuota = SplitReplies(random, inThreads - threadCount, threadCount);

        var messages = new List<JsonObject>(total);
        var threads = new List<(JsonObject Parent, int Left, List<string> ReplyTs)>();
        var standaloneLeft = total - inThreads;
        var parentsLeft = threadCount;
        var repliesLeft = inThreads - threadCount;
        var clock = Start;
        for (var i = 0; i < total; i++)
        {
            clock += random.Next(45, 5400);
            var ts = string.Create(CultureInfo.InvariantCulture, $"{clock}.{random.Next(0, 1_000_000):D6}");
            var open = threads.Where(t => t.Left > 0).ToList();
            var weights = new[] { standaloneLeft, parentsLeft, open.Count > 0 ? repliesLeft : 0 };
            var role = (Role)Pick(random, weights);
            JsonObject message;
            switch (role)
            {
                case Role.Parent:
                    message = NewMessage(random, options.Workspace, ts, RandomChannel(random), threadTs: ts);
                    threads.Add((message, replyQuota[threadCount - parentsLeft], []));
                    parentsLeft--;
                    break;
                case Role.Reply:
                    var index = threads.IndexOf(open[random.Next(open.Count)]);
                    var thread = threads[index];
                    var parentTs = thread.Parent["ts"]!.GetValue<string>();
                    var channel = Channels.First(c => c.Id == thread.Parent["channel"]!.GetValue<string>());
                    message = NewMessage(random, options.Workspace, ts, channel, threadTs: parentTs);
                    thread.ReplyTs.Add(ts);
                    threads[index] = thread with { Left = thread.Left - 1 };
                    repliesLeft--;
                    break;
                default:
                    message = NewMessage(random, options.Workspace, ts, RandomChannel(random), threadTs: null);
                    standaloneLeft--;
                    break;
            }

            messages.Add(message);
        }

        foreach (var (parent, _, replies) in threads)
        {
            // Slack puts reply counts on the parent; they are known only once the thread is complete.
            var permalink = parent["permalink"]!;
            parent.Remove("permalink");
            parent["reply_count"] = replies.Count;
            if (replies.Count > 0)
            {
                parent["latest_reply"] = replies[^1];
            }

            parent["permalink"] = permalink;
        }

        return messages;
    }

    private static int[] SplitReplies(Random random, int replies, int threads)
    {
        var quota = new int[threads];
        for (var i = 0; i < replies; i++)
        {
            quota[random.Next(threads)]++;
        }

        return quota;
    }

    private static int Pick(Random random, int[] weights)
    {
        var roll = random.Next(weights.Sum());
        for (var i = 0; i < weights.Length; i++)
        {
            if (roll < weights[i])
            {
                return i;
            }

            roll -= weights[i];
        }

        throw new InvalidOperationException("no role left to pick");
    }

    private static Channel RandomChannel(Random random) => Channels[random.Next(Channels.Length)];

    private static JsonObject NewMessage(Random random, string workspace, string ts, Channel channel, string? threadTs)
    {
        var user = Users[random.Next(Users.Length)];
        var message = new JsonObject
        {
            ["type"] = "message",
            ["ts"] = ts,
            ["user"] = user.Id,
            ["user_profile"] = new JsonObject
            {
                ["display_name"] = user.DisplayName,
                ["real_name"] = user.RealName,
                ["title"] = user.Title,
                ["team"] = TeamId,
            },
            ["channel"] = channel.Id,
            ["channel_name"] = channel.Name,
            ["text"] = threadTs is not null && threadTs != ts && random.Next(3) == 0 ? Replies[random.Next(Replies.Length)] : Text(random),
        };
        if (threadTs is not null)
        {
            message["thread_ts"] = threadTs;
        }

        if (random.Next(10) < 3)
        {
            var reactions = new JsonArray();
            foreach (var name in Reactions.OrderBy(_ => random.Next()).Take(random.Next(1, 3)))
            {
                reactions.Add(new JsonObject { ["name"] = name, ["count"] = random.Next(1, 6) });
            }

            message["reactions"] = reactions;
        }

        message["permalink"] = Permalink(workspace, channel.Id, ts, threadTs);
        return message;
    }

    private static string Text(Random random)
    {
        var japanese = random.Next(10) < 3;
        var onTopic = random.Next(10) < 7;
        string body;
        if (onTopic)
        {
            var topic = Topics[random.Next(Topics.Length)];
            var texts = japanese ? topic.Japanese : topic.English;
            body = texts[random.Next(texts.Length)];
        }
        else
        {
            var texts = japanese ? SmallTalkJapanese : SmallTalkEnglish;
            body = texts[random.Next(texts.Length)];
        }

        var text = new StringBuilder(body);
        switch (random.Next(6))
        {
            case 0:
                text.Append('\n').Append(FollowUps[random.Next(FollowUps.Length)]);
                break;
            case 1:
                text.Append("\n\n");
                foreach (var item in FollowUps.OrderBy(_ => random.Next()).Take(random.Next(2, 4)))
                {
                    text.Append("• ").Append(item).Append('\n');
                }

                text.Length--;
                break;
            case 2:
                text.Append(' ').AppendJoin(' ', FollowUps.OrderBy(_ => random.Next()).Take(random.Next(1, 4)));
                break;
            case 3:
                text.Append("\n```\nexit code ").Append(random.Next(1, 140)).Append("\n```");
                break;
        }

        return text.ToString();
    }

    private static List<TestCase> GenerateCases(Random random, List<JsonObject> messages, SlackGeneratorOptions options)
    {
        var perCategory = options.CasesPerCategory;
        var cases = new List<TestCase>();
        string Field(JsonObject m, string name) => m[name]!.GetValue<string>();
        List<int> Where(Func<JsonObject, bool> predicate) => [.. Enumerable.Range(0, messages.Count).Where(i => predicate(messages[i]))];

        // Distractors come from a generator of their own, so that the questions are the same with or without contexts.
        var distractors = new Random(unchecked((options.Seed * 7919) + 104_729));
        List<int>? Context(IEnumerable<int> needed) => options.RecordsPerCase is { } k ? Retrieve(distractors, messages.Count, needed, k) : null;
        void Add(string category, string question, IReadOnlyList<int> answer, IReadOnlyList<int>? records) =>
            cases.Add(new TestCase($"{category}-{cases.Count(c => c.Tags[0] == category) + 1:D3}", question, [.. answer.Select(i => Field(messages[i], "permalink"))], UrlSet, [category], records));

        for (var i = 0; i < perCategory; i++)
        {
            var target = random.Next(messages.Count);
            var records = Context([target]);
            var n = records is null ? target + 1 : records.IndexOf(target + 1) + 1;
            Add("index", $"What is the permalink of message number {n}, counting from 1 in the order the messages are given?", [target], records);
        }

        // Only ask about topics and people that appear, so that every expected set has at least one message.
        var topics = Topics.Select(t => t.Keyword).Where(k => messages.Any(m => Field(m, "text").Contains(k, StringComparison.Ordinal))).ToList();
        for (var i = 0; i < perCategory && topics.Count > 0; i++)
        {
            var topic = topics[i % topics.Count];
            var question = random.Next(3) == 0
                ? $"{topic}について言及しているメッセージのパーマリンクをすべて挙げてください。"
                : $"List the permalinks of every message that mentions {topic}.";
            var answer = Where(m => Field(m, "text").Contains(topic, StringComparison.Ordinal));
            Add("content", question, answer, Context(answer));
        }

        var posters = Users.Select(u => u.Id).Where(id => messages.Any(m => Field(m, "user") == id)).ToList();
        for (var i = 0; i < perCategory; i++)
        {
            var user = posters[(i + random.Next(posters.Count)) % posters.Count];
            var answer = Where(m => Field(m, "user") == user);
            Add("user", $"List the permalinks of every message posted by {user}.", answer, Context(answer));
        }

        for (var i = 0; i < perCategory; i++)
        {
            // Start from a real message so that the conditions select at least one.
            var anchor = messages[random.Next(messages.Count)];
            var user = Field(anchor, "user");
            var channel = Field(anchor, "channel_name");
            if (i % 2 == 0)
            {
                var answer = Where(m => Field(m, "user") == user && Field(m, "channel_name") == channel);
                Add("compound", $"List the permalinks of every message posted by {user} in #{channel}.", answer, Context(answer));
            }
            else
            {
                var inThread = anchor.ContainsKey("thread_ts");
                var where = inThread ? "inside a thread" : "outside any thread";
                var answer = Where(m => Field(m, "user") == user && Field(m, "channel_name") == channel && m.ContainsKey("thread_ts") == inThread);
                Add("compound", $"List the permalinks of every message posted by {user} in #{channel} {where}.", answer, Context(answer));
            }
        }

        var parents = Where(m => m["reply_count"] is not null && m["reply_count"]!.GetValue<int>() > 0);
        for (var i = 0; i < perCategory && parents.Count > 0; i++)
        {
            var parent = parents[random.Next(parents.Count)];
            var ts = Field(messages[parent], "ts");
            var answer = Where(m => m["thread_ts"]?.GetValue<string>() == ts && Field(m, "ts") != ts);

            // The thread's first message is named in the question, so it is part of what the question needs.
            Add("thread", $"List the permalinks of every reply in the thread started by {Field(messages[parent], "permalink")}.", answer, Context(answer.Append(parent)));
        }

        return cases;
    }

    // The needed records plus random others up to k, as 1-based numbers in dataset order.
    private static List<int> Retrieve(Random random, int count, IEnumerable<int> needed, int k)
    {
        var chosen = needed.ToHashSet();
        var others = Enumerable.Range(0, count).Where(i => !chosen.Contains(i)).ToList();
        while (chosen.Count < k && others.Count > 0)
        {
            var pick = random.Next(others.Count);
            chosen.Add(others[pick]);
            others[pick] = others[^1];
            others.RemoveAt(others.Count - 1);
        }

        return [.. chosen.Order().Select(i => i + 1)];
    }
}
