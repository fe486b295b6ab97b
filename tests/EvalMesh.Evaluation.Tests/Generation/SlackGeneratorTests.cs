using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using EvalMesh.Evaluation.Formats;
using EvalMesh.Evaluation.Generation;

namespace EvalMesh.Evaluation.Tests.Generation;

public partial class SlackGeneratorTests
{
    private static readonly SlackDataset Data = SlackGenerator.Generate(new SlackGeneratorOptions(Messages: 100, Seed: 7, CasesPerCategory: 6));

    private static string Field(JsonObject m, string name) => m[name]!.GetValue<string>();

    [Theory]
    [InlineData(100)]
    [InlineData(37)]
    [InlineData(4)]
    public void Generate_HalfTheMessagesAreInThreads(int count)
    {
        var messages = SlackGenerator.Generate(new SlackGeneratorOptions(Messages: count)).Messages;
        Assert.Equal(count, messages.Count);
        Assert.Equal(count / 2, messages.Count(m => m.ContainsKey("thread_ts")));
    }

    [Fact]
    public void Generate_SameSeed_SameData_OtherSeed_OtherData()
    {
        var oneLine = RecordFormats.Get("oneline-json");
        var again = SlackGenerator.Generate(new SlackGeneratorOptions(Messages: 100, Seed: 7, CasesPerCategory: 6));
        var other = SlackGenerator.Generate(new SlackGeneratorOptions(Messages: 100, Seed: 8, CasesPerCategory: 6));
        Assert.Equal(oneLine.Render(Data.Messages), oneLine.Render(again.Messages));
        Assert.Equal(Data.Suite, again.Suite with { Cases = Data.Suite.Cases.Count == again.Suite.Cases.Count ? Data.Suite.Cases : again.Suite.Cases });
        Assert.Equal(Data.Suite.Cases.Select(c => c.Question), again.Suite.Cases.Select(c => c.Question));
        Assert.NotEqual(oneLine.Render(Data.Messages), oneLine.Render(other.Messages));
    }

    [Fact]
    public void Generate_MessagesLookLikeSlack()
    {
        Assert.All(Data.Messages, m =>
        {
            Assert.Matches(@"^\d{10}\.\d{6}$", Field(m, "ts"));
            Assert.Matches("^U[0-9A-Z]{10}$", Field(m, "user"));
            Assert.Matches("^C[0-9A-Z]{10}$", Field(m, "channel"));
            Assert.NotNull(m["user_profile"]!["real_name"]);
        });
        Assert.Equal(Data.Messages.Select(m => Field(m, "ts")).Order(StringComparer.Ordinal), Data.Messages.Select(m => Field(m, "ts")));
        Assert.Contains(Data.Messages, m => Japanese().IsMatch(Field(m, "text")));
        Assert.Contains(Data.Messages, m => Field(m, "text").Contains('\n'));
        Assert.Contains(Data.Messages, m => !Field(m, "text").Contains('\n'));
        var lengths = Data.Messages.Select(m => Field(m, "text").Length).ToList();
        Assert.True(lengths.Max() > 3 * lengths.Min(), "text lengths should vary");
    }

    [Fact]
    public void Generate_ThreadsAreConsistent()
    {
        var byTs = Data.Messages.ToDictionary(m => Field(m, "ts"));
        foreach (var reply in Data.Messages.Where(m => m.ContainsKey("thread_ts") && Field(m, "thread_ts") != Field(m, "ts")))
        {
            var parent = byTs[Field(reply, "thread_ts")];
            Assert.Equal(Field(parent, "ts"), Field(parent, "thread_ts"));
            Assert.Equal(Field(parent, "channel"), Field(reply, "channel"));
            Assert.True(string.CompareOrdinal(Field(parent, "ts"), Field(reply, "ts")) < 0);
        }

        foreach (var parent in Data.Messages.Where(m => m["reply_count"] is not null))
        {
            var replies = Data.Messages.Count(m => m.ContainsKey("thread_ts") && Field(m, "thread_ts") == Field(parent, "ts") && m != parent);
            Assert.Equal(replies, parent["reply_count"]!.GetValue<int>());
        }
    }

    [Fact]
    public void Generate_PermalinksFollowSlacksRule()
    {
        foreach (var m in Data.Messages)
        {
            var channel = Field(m, "channel");
            var ts = Field(m, "ts");
            var expected = $"https://evalmesh-demo.slack.com/archives/{channel}/p{ts.Replace(".", "")}";
            if (m.ContainsKey("thread_ts") && Field(m, "thread_ts") != ts)
            {
                expected += $"?thread_ts={Field(m, "thread_ts")}&cid={channel}";
            }

            Assert.Equal(expected, Field(m, "permalink"));
        }
    }

    [Theory]
    [InlineData(8, 1)]
    [InlineData(5, 3)]
    [InlineData(12, 2)]
    public void Suite_SmallDatasets_NeverAskForAnEmptySet(int messages, int seed)
    {
        var data = SlackGenerator.Generate(new SlackGeneratorOptions(messages, seed, CasesPerCategory: 4));
        Assert.All(data.Suite.Cases, c => Assert.NotEmpty(c.Expected));
    }

    [Fact]
    public void Suite_CoversFiveCategoriesWithComputedAnswers()
    {
        Assert.Equal(SlackGenerator.Categories, Data.Suite.Cases.Select(c => c.Tags[0]).Distinct());
        Assert.Equal(30, Data.Suite.Cases.Count);
        Assert.All(Data.Suite.Cases, c =>
        {
            Assert.Equal("url-set", c.Scorer.Type);
            Assert.NotEmpty(c.Expected);
            Assert.Equal(Recompute(c.Question), c.Expected.ToHashSet());
        });
    }

    [Fact]
    public void Generate_WithoutRecordsPerCase_CasesAreOverTheWholeDataset()
    {
        Assert.All(Data.Suite.Cases, c => Assert.Null(c.Records));
        Assert.Equal("slack-100-seed7", Data.Suite.Name);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(10)]
    public void Generate_RecordsPerCase_EachCaseHasItsNeededRecordsAndDistractorsUpToK(int k)
    {
        var data = SlackGenerator.Generate(new SlackGeneratorOptions(Messages: 100, Seed: 7, CasesPerCategory: 6, RecordsPerCase: k));
        Assert.Equal($"slack-100-seed7-k{k}", data.Suite.Name);
        Assert.All(data.Suite.Cases, c =>
        {
            var records = c.Records!;
            Assert.Equal(records.Order().Distinct(), records);
            Assert.All(records, r => Assert.InRange(r, 1, 100));
            var given = records.Select(r => Field(data.Messages[r - 1], "permalink")).ToHashSet();
            Assert.Subset(given, c.Expected.ToHashSet());
            var needed = c.Expected.Count + (c.Tags[0] == "thread" ? 1 : 0);
            Assert.Equal(Math.Max(k, needed), records.Count);
            if (c.Tags[0] == "thread")
            {
                // The thread's first message, named in the question, is given too.
                Assert.Contains(Regex.Match(c.Question, @"started by (\S+)\.$").Groups[1].Value, given);
            }
        });
    }

    [Fact]
    public void Generate_RecordsPerCase_IndexQuestionsCountWithinTheRecordsAndOtherQuestionsStayTheSame()
    {
        var retrieved = SlackGenerator.Generate(new SlackGeneratorOptions(Messages: 100, Seed: 7, CasesPerCategory: 6, RecordsPerCase: 5));
        Assert.Equal(Data.Messages.Select(m => m.ToJsonString()), retrieved.Messages.Select(m => m.ToJsonString()));
        foreach (var (whole, given) in Data.Suite.Cases.Zip(retrieved.Suite.Cases))
        {
            Assert.Equal(whole.Id, given.Id);
            Assert.Equal(whole.Expected, given.Expected);
            if (given.Tags[0] == "index")
            {
                var n = int.Parse(Regex.Match(given.Question, @"message number (\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
                Assert.InRange(n, 1, 5);
                Assert.Equal(given.Expected.Single(), Field(retrieved.Messages[given.Records![n - 1] - 1], "permalink"));
            }
            else
            {
                Assert.Equal(whole.Question, given.Question);
            }
        }
    }

    [Fact]
    public void Generate_RecordsPerCase_SameSeedSameRecords_OtherSeedOtherRecords()
    {
        SlackDataset Make(int seed) => SlackGenerator.Generate(new SlackGeneratorOptions(Messages: 100, Seed: seed, CasesPerCategory: 6, RecordsPerCase: 6));
        var (first, again, other) = (Make(7), Make(7), Make(8));
        Assert.Equal(first.Suite.Cases.SelectMany(c => c.Records!), again.Suite.Cases.SelectMany(c => c.Records!));
        Assert.NotEqual(first.Suite.Cases.SelectMany(c => c.Records!), other.Suite.Cases.SelectMany(c => c.Records!));
    }

    [Fact]
    public void Generate_RecordsPerCaseAboveTheDataset_GivesEveryRecord()
    {
        var data = SlackGenerator.Generate(new SlackGeneratorOptions(Messages: 8, Seed: 1, CasesPerCategory: 2, RecordsPerCase: 50));
        Assert.All(data.Suite.Cases, c => Assert.Equal(Enumerable.Range(1, 8), c.Records!));
    }

    [Fact]
    public void Generate_Categories_GiveTheSameCasesOfThoseCategoriesOnly()
    {
        var all = SlackGenerator.Generate(new SlackGeneratorOptions(Messages: 100, Seed: 7, CasesPerCategory: 6, RecordsPerCase: 2));
        var some = SlackGenerator.Generate(new SlackGeneratorOptions(Messages: 100, Seed: 7, CasesPerCategory: 6, RecordsPerCase: 2, Categories: ["thread", "index"]));
        var expected = all.Suite.Cases.Where(c => c.Tags[0] is "index" or "thread").ToList();
        Assert.Equal(12, some.Suite.Cases.Count);
        Assert.Equal(expected.Select(c => (c.Id, c.Question, string.Join(' ', c.Expected), string.Join(' ', c.Records!))), some.Suite.Cases.Select(c => (c.Id, c.Question, string.Join(' ', c.Expected), string.Join(' ', c.Records!))));
        Assert.Equal(all.Messages.Select(m => m.ToJsonString()), some.Messages.Select(m => m.ToJsonString()));
        Assert.NotEqual(all.Suite.Name, some.Suite.Name);
    }

    [Fact]
    public void Generate_UnknownCategory_ThrowsNamingTheKnownOnes()
    {
        var ex = Assert.Throws<UnknownNameException>(() => SlackGenerator.Generate(new SlackGeneratorOptions(Categories: ["indexes"])));
        Assert.Equal("unknown category 'indexes' (did you mean 'index'?); known categories: index, content, user, compound, thread", ex.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public void Generate_RecordsPerCaseBelowOne_Throws(int k) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => SlackGenerator.Generate(new SlackGeneratorOptions(RecordsPerCase: k)));

    // An independent reading of each question against the data, so that the generator's answers are checked, not trusted.
    private static HashSet<string> Recompute(string question)
    {
        IEnumerable<JsonObject> m = Data.Messages;
        if (Regex.Match(question, @"message number (\d+)") is { Success: true } index)
        {
            m = [Data.Messages[int.Parse(index.Groups[1].Value) - 1]];
        }

        if (Regex.Match(question, "mentions (\\w+)|^(\\w+)について") is { Success: true } topic)
        {
            var keyword = topic.Groups[1].Success ? topic.Groups[1].Value : topic.Groups[2].Value;
            m = m.Where(x => Field(x, "text").Contains(keyword, StringComparison.Ordinal));
        }

        if (Regex.Match(question, @"posted by (U\w+)") is { Success: true } user)
        {
            m = m.Where(x => Field(x, "user") == user.Groups[1].Value);
        }

        if (Regex.Match(question, @"in #([\w-]+)") is { Success: true } channel)
        {
            m = m.Where(x => Field(x, "channel_name") == channel.Groups[1].Value);
        }

        if (question.Contains("inside a thread"))
        {
            m = m.Where(x => x.ContainsKey("thread_ts"));
        }

        if (question.Contains("outside any thread"))
        {
            m = m.Where(x => !x.ContainsKey("thread_ts"));
        }

        if (Regex.Match(question, @"thread started by (\S+)\.$") is { Success: true } thread)
        {
            var parent = Data.Messages.Single(x => Field(x, "permalink") == thread.Groups[1].Value);
            m = m.Where(x => x.ContainsKey("thread_ts") && Field(x, "thread_ts") == Field(parent, "ts") && x != parent);
        }

        return [.. m.Select(x => Field(x, "permalink"))];
    }

    [GeneratedRegex(@"[\p{IsHiragana}\p{IsKatakana}\p{IsCJKUnifiedIdeographs}]")]
    private static partial Regex Japanese();
}
