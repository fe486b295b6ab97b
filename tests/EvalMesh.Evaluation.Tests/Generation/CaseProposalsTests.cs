using System.Text.Json;
using System.Text.Json.Nodes;
using EvalMesh.Evaluation.Generation;

namespace EvalMesh.Evaluation.Tests.Generation;

/// <summary>
/// Proposed cases are kept only when the data supports them, with answers computed from the records (recomputed here
/// from the messages, not from the validator); every other proposal is dropped with the reason that names what is wrong.
/// </summary>
public class CaseProposalsTests
{
    private static readonly IReadOnlyList<JsonObject> Messages = SlackGenerator.Generate(new SlackGeneratorOptions(Messages: 40, Seed: 11)).Messages;

    private static string Field(JsonObject m, string name) => m[name]!.GetValue<string>();

    private static List<string> Links(Func<JsonObject, bool> predicate) => [.. Messages.Where(predicate).Select(m => Field(m, "permalink")).Order()];

    private static ProposalVerdict Judge(string category, object proposal) => CaseProposals.Judge(category, $"{category}-001", JsonSerializer.Serialize(proposal), Messages);

    [Fact]
    public void GoodProposals_AreKept_WithAnswersComputedFromTheData()
    {
        var user = Field(Messages[5], "user");
        var channel = Field(Messages[5], "channel_name");
        var thread = Messages.Select((m, i) => (m, i)).First(x => x.m["reply_count"]?.GetValue<int>() > 0);
        var ts = Field(thread.m, "ts");

        Assert.Equal([Field(Messages[8], "permalink")], Judge("index", new { question = "What is the permalink of message 9?", reasoning = "r", record = 9 }).Case!.Expected);
        Assert.Equal(Links(m => Field(m, "user") == user), Judge("user", new { question = $"Which messages did {user} post?", reasoning = "r", user }).Case!.Expected.Order());
        var inThread = Messages[5].ContainsKey("thread_ts");
        var compound = Judge("compound", new { question = $"What did {user} post in #{channel}?", reasoning = "r", user, channel = "#" + channel, in_thread = inThread, records = new[] { 6 } });
        Assert.Equal(Links(m => Field(m, "user") == user && Field(m, "channel_name") == channel && m.ContainsKey("thread_ts") == inThread), compound.Case!.Expected.Order());
        var threadCase = Judge("thread", new { question = $"List the replies to {Field(thread.m, "permalink")}.", reasoning = "r", record = thread.i + 1 }).Case!;
        Assert.Equal(Links(m => m["thread_ts"]?.GetValue<string>() == ts && Field(m, "ts") != ts), threadCase.Expected.Order());
        Assert.Equal(["thread"], threadCase.Tags);
        Assert.Equal("url-set", threadCase.Scorer.Type);

        // A content case's answer is every record that mentions its phrase, not only the ones the model named.
        var keyword = "Kubernetes";
        var mentioning = Enumerable.Range(1, Messages.Count).Where(n => Field(Messages[n - 1], "text").Contains(keyword, StringComparison.OrdinalIgnoreCase)).ToList();
        Assert.True(mentioning.Count >= 2, "the data should mention Kubernetes twice");
        var content = Judge("content", new { question = $"Which messages mention {keyword}?", reasoning = "r", keyword, records = new[] { mentioning[0] } });
        Assert.Equal(Links(m => Field(m, "text").Contains(keyword, StringComparison.OrdinalIgnoreCase)), content.Case!.Expected.Order());
    }

    [Fact]
    public void ARecordThatDoesNotSupportTheAnswer_IsDropped_AsUnsupported()
    {
        var user = Field(Messages[0], "user");
        var other = Enumerable.Range(1, Messages.Count).First(n => Field(Messages[n - 1], "user") != user);
        var channel = Field(Messages[0], "channel_name");
        var verdict = Judge("compound", new { question = $"Messages by {user} in #{channel}?", reasoning = "r", user, channel, in_thread = (bool?)null, records = new[] { 1, other } });
        Assert.Equal(DropReason.Unsupported, verdict.Reason);
        Assert.Equal($"record {other} is not a message that was posted by {user} in #{channel}", verdict.Detail);

        var silent = Enumerable.Range(1, Messages.Count).First(n => !Field(Messages[n - 1], "text").Contains("Kubernetes", StringComparison.OrdinalIgnoreCase));
        Assert.Equal(DropReason.Unsupported, Judge("content", new { question = "Which mention Kubernetes?", reasoning = "r", keyword = "Kubernetes", records = new[] { silent } }).Reason);
    }

    [Theory]
    [InlineData("index", """{"question": "Which permalink has message 3?", "reasoning": "r"}""", DropReason.MissingField, "'record'")]
    [InlineData("index", """{"question": "Which permalink has message 3?", "reasoning": "r", "record": 400}""", DropReason.UnknownRecord, "record 400 is not in the dataset, which has 40")]
    [InlineData("index", """{"question": "Which permalink has the first message?", "reasoning": "r", "record": 3}""", DropReason.QuestionLacksCondition, "record number 3")]
    [InlineData("index", """{"question": "Which permalink has message 13?", "reasoning": "r", "record": 3}""", DropReason.QuestionLacksCondition, "record number 3")]
    [InlineData("index", """{"question": "Which permalink has message 3?", "record": 3}""", DropReason.MissingField, "'reasoning'")]
    [InlineData("user", """{"question": "What did U999 post?", "reasoning": "r", "user": "U999"}""", DropReason.UnknownUser, "user U999 posted no message")]
    [InlineData("content", """{"question": "Which mention zebras?", "reasoning": "r", "keyword": "zebras", "records": [1]}""", DropReason.EmptyAnswer, "no message mentions 'zebras'")]
    [InlineData("content", """{"question": "Which mention BigQuery?", "reasoning": "r", "keyword": "BigQuery", "records": []}""", DropReason.NoRecordsNamed, "named no record")]
    [InlineData("content", """{"question": "Which mention BigQuery?", "reasoning": "r", "keyword": "BigQuery", "records": "1, 2"}""", DropReason.MissingField, "'records'")]
    [InlineData("compound", """{"question": "U01A2B3C4D5 in #nowhere?", "reasoning": "r", "user": "U01A2B3C4D5", "channel": "nowhere", "records": [1]}""", DropReason.UnknownChannel, "#nowhere")]
    [InlineData("compound", """{"question": "U01A2B3C4D5 in #incidents?", "reasoning": "r", "user": "U01A2B3C4D5", "channel": "incidents", "in_thread": "yes", "records": [1]}""", DropReason.MissingField, "'in_thread'")]
    [InlineData("thread", """{"question": "Replies to message 1?", "reasoning": "r", "record": 1}""", DropReason.QuestionLacksCondition, "permalink or timestamp")]
    [InlineData("index", """{"question": "What is message 3?", "reasoning": "r", "record": 3""", DropReason.NotJson, "no JSON object")]
    [InlineData("index", "Sure! Message 3 is https://x.slack.com/p3", DropReason.NotJson, "no JSON object")]
    [InlineData("index", "I'm sorry, but I can't help with that.", DropReason.Refusal, "declined")]
    [InlineData("index", "As an AI, I cannot browse Slack.", DropReason.Refusal, "declined")]
    public void AProposalTheDataDoesNotSupport_IsDroppedWithItsReason(string category, string reply, DropReason reason, string detail)
    {
        var verdict = CaseProposals.Judge(category, "x", reply, Messages);
        Assert.Null(verdict.Case);
        Assert.Equal(reason, verdict.Reason);
        Assert.Contains(detail, verdict.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void AThreadQuestionAboutAMessageWithoutReplies_IsDropped()
    {
        var lone = Enumerable.Range(1, Messages.Count).First(n => !Messages[n - 1].ContainsKey("thread_ts"));
        var verdict = Judge("thread", new { question = $"Replies to {Field(Messages[lone - 1], "permalink")}?", reasoning = "r", record = lone });
        Assert.Equal(DropReason.NotAThread, verdict.Reason);
        Assert.DoesNotContain(lone, CaseProposals.Anchors(Messages, "thread"));
        Assert.Equal(Messages.Count, CaseProposals.Anchors(Messages, "index").Count);
    }

    [Fact]
    public void AReplyWrappedInProseOrAFence_IsRead()
    {
        var reply = "Here is one:\n```json\n{\"question\": \"What is the permalink of message 2?\", \"reasoning\": \"r\", \"record\": 2}\n```";
        Assert.Equal([Field(Messages[1], "permalink")], CaseProposals.Judge("index", "index-001", reply, Messages).Case!.Expected);
    }

    [Fact]
    public void DropReasons_HaveKebabCaseNames()
    {
        Assert.Equal("not-json", CaseProposals.Name(DropReason.NotJson));
        Assert.Equal("question-lacks-condition", CaseProposals.Name(DropReason.QuestionLacksCondition));
        Assert.Equal("refusal", CaseProposals.Name(DropReason.Refusal));
    }

    [Fact]
    public void ADatasetWithoutAFieldACategoryNeeds_IsAnErrorNamingTheFileRecordAndField()
    {
        List<JsonObject> records = [.. Messages.Select(m => m.DeepClone().AsObject())];
        records[6].Remove("channel_name");
        CaseProposals.CheckFields(records, ["index", "user", "content", "thread"], "m.jsonl");
        var error = Assert.Throws<EvalMeshInputException>(() => CaseProposals.CheckFields(records, ["compound"], "m.jsonl"));
        Assert.Equal("m.jsonl:7: 'channel_name': record 7 has no text field 'channel_name', which compound questions need (leave the category out with --categories)", error.Message);
    }
}

/// <summary>A model's message text is used only when it can be a message.</summary>
public class MessageTextsTests
{
    [Theory]
    [InlineData("  \"Deploy is done.\"  ", "Deploy is done.", null)]
    [InlineData("```\nline one\nline two\n```", "line one\nline two", null)]
    [InlineData("I can't reproduce the OOM on staging.", "I can't reproduce the OOM on staging.", null)]
    [InlineData("   ", null, "an empty reply")]
    [InlineData("I'm sorry, I can't write that message.", null, "a refusal")]
    [InlineData("I am unable to write messages for a workspace.", null, "a refusal")]
    [InlineData("ok\u0005 U\u0005", null, "control characters")]
    [InlineData("コスト\uFFFD", null, "bytes that are not UTF-8 (U+FFFD)")]
    public void Read_UsesAMessageLikeReply_AndSaysWhatIsWrongWithAnyOther(string reply, string? text, string? problem) =>
        Assert.Equal((text, problem), MessageTexts.Read(reply));

    [Fact]
    public void Records_ShowAReplyWithItsThreadsFirstMessage()
    {
        var messages = SlackGenerator.Generate(new SlackGeneratorOptions(Messages: 30, Seed: 4)).Messages;
        var reply = messages.Select((m, i) => (m, i)).First(x => x.m["thread_ts"] is { } t && t.GetValue<string>() != x.m["ts"]!.GetValue<string>());
        var first = messages.Select((m, i) => (m, i)).First(x => x.m["ts"]!.GetValue<string>() == reply.m["thread_ts"]!.GetValue<string>()).i;
        Assert.Equal([first + 1, reply.i + 1], MessageTexts.Records(messages, reply.i));
        var lone = messages.ToList().FindIndex(m => !m.ContainsKey("thread_ts"));
        Assert.Equal([lone + 1], MessageTexts.Records(messages, lone));
        Assert.Contains($"with ts {messages[lone]["ts"]} as ", MessageTexts.Instruction(messages[lone]), StringComparison.Ordinal);
    }
}
