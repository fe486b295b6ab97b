using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using EvalMesh.Evaluation.Datasets;
using EvalMesh.Evaluation.Suites;
using EvalMesh.Testing;
using Microsoft.AspNetCore.Http;

namespace EvalMesh.Cli.Tests;

/// <summary>
/// <c>evalmesh generate cases --with</c> against a scripted OpenAI-compatible endpoint over real HTTP, which writes good
/// index and user cases, content cases that rely on records that do not support them, malformed compound cases and
/// refuses thread cases; as the checker it answers index cases right and user cases wrong. Each kind must end where it
/// should, and the expected answers are recomputed here from the dataset file.
/// </summary>
public sealed partial class CaseGenerationTests : ScriptedEndpointRuns
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task EachKindOfProposal_EndsWhereItShould_AndGeneratingAgainIsCachedAndByteIdentical()
    {
        Assert.Equal(0, (await Run("generate", "slack", "--messages", "30", "--seed", "3", "--out", "data")).ExitCode);
        var messages = DatasetReader.Read(Path.Combine(Folder, "data", "messages.jsonl")).Records;
        Endpoint.Default = Writer(messages);
        var config = WriteConfig("writer.yaml", 1);

        var result = await Run("generate", "cases", "--config", config, "--with", "scripted", "--dataset", "data/messages.jsonl", "--per-category", "2", "--max-calls", "20", "--out", "suite.yaml", "--json");
        Assert.True(result.ExitCode == 0, result.Stderr + result.Stdout);
        var summary = JsonNode.Parse(result.Stdout)!;

        // 20 calls: the first round asks two of each category; then only the three that keep nothing are asked again.
        Assert.Equal(20, summary["proposed"]!.GetValue<int>());
        Assert.Equal(4, summary["kept"]!.GetValue<int>());
        var categories = summary["categories"]!.AsArray().ToDictionary(c => c!["category"]!.GetValue<string>(), c => c!);
        Assert.Equal((2, 2, 0), Counts(categories["index"]));
        var dropped = summary["dropped"]!.AsObject();

        // Two anchors by the same user make the same case: the second is dropped as a duplicate, and another asked for.
        var duplicates = dropped["duplicate"]?.GetValue<int>() ?? 0;
        Assert.Equal((2 + duplicates, 2, 2), Counts(categories["user"]));
        Assert.Equal(categories["content"]!["proposed"]!.GetValue<int>(), dropped["unsupported"]!.GetValue<int>());
        Assert.Equal(categories["compound"]!["proposed"]!.GetValue<int>(), dropped["not-json"]!.GetValue<int>());
        Assert.Equal(categories["thread"]!["proposed"]!.GetValue<int>(), dropped["refusal"]!.GetValue<int>());
        Assert.Equal(16, dropped.Sum(d => d.Value!.GetValue<int>()));
        Assert.Equal(2, summary["flagged"]!.GetValue<int>());
        var flagged = summary["flaggedCases"]!.AsArray();
        Assert.Equal(["user-001", "user-002"], flagged.Select(f => f!["id"]!.GetValue<string>()));
        Assert.All(flagged, f => Assert.Equal("the records by them", f!["reasoning"]!.GetValue<string>()));
        Assert.All(flagged, f => Assert.Equal("https://example.invalid/not-an-answer", f!["answer"]!.GetValue<string>()));

        // The suite: answers computed from the data (recomputed here), the checker's disagreements marked for review.
        var suite = SuiteFile.Read(Path.Combine(Folder, "suite.yaml"), messages.Count);
        Assert.Equal(["index-001", "index-002", "user-001", "user-002"], suite.Cases.Select(c => c.Id));
        foreach (var testCase in suite.Cases)
        {
            Assert.Equal(Expected(messages, testCase.Question), testCase.Expected.Order());
            Assert.Equal(testCase.Tags[0] == "user", testCase.Review);
            Assert.Equal("url-set", testCase.Scorer.Type);
        }

        Assert.Equal(Path.Combine("data", "messages.jsonl"), suite.Dataset);
        var asked = Endpoint.Requests.Count;
        Assert.Equal(20 + 4, asked);

        // The same seed again: every answer comes from the response cache, and the file is the same to the byte.
        var again = await Run("generate", "cases", "--config", config, "--with", "scripted", "--dataset", "data/messages.jsonl", "--per-category", "2", "--max-calls", "20", "--out", "again.yaml");
        Assert.True(again.ExitCode == 0, again.Stderr + again.Stdout);
        TestContext.Current.TestOutputHelper!.WriteLine(again.Stdout);
        Assert.Equal(asked, Endpoint.Requests.Count);
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(Folder, "suite.yaml"), Token), await File.ReadAllBytesAsync(Path.Combine(Folder, "again.yaml"), Token));
        Assert.Contains("20 proposed, 4 kept, 16 dropped", again.Stdout, StringComparison.Ordinal);
        Assert.Contains("refusal", again.Stdout, StringComparison.Ordinal);

        // The seed experiment can use the model-built suite by naming it in a config.
        File.WriteAllText(Path.Combine(Folder, "experiment.yaml"), """
            datasets:
              - name: messages
                path: data/messages.jsonl
            suites:
              - name: written
                dataset: messages
                path: suite.yaml
            formats: [oneline-json, csv]
            endpoints:
              - name: echo
                type: echo
            """);
        var run = await Run("run", "experiment.yaml", "--json");
        Assert.Contains(run.ExitCode, new[] { 0, 1 });
        Assert.Equal(4 * 2, JsonNode.Parse(run.Stdout)!["run"]!["total"]!.GetValue<int>());
    }

    [Fact]
    public async Task ADatasetWithoutTheFieldsACategoryNeeds_IsAClearError_AndWritesNothing()
    {
        File.WriteAllText(Path.Combine(Folder, "plain.jsonl"), """
            {"permalink": "https://x.slack.com/archives/C1/p1", "text": "hello", "ts": "1.0"}
            {"permalink": "https://x.slack.com/archives/C1/p2", "text": "world", "ts": "2.0"}
            """);
        var result = await Run("generate", "cases", "--with", Endpoint.BaseUrl.ToString(), "--model", "scripted", "--dataset", "plain.jsonl", "--out", "suite.yaml");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("plain.jsonl:1: 'user': record 1 has no text field 'user', which user questions need", result.Stderr, StringComparison.Ordinal);
        Assert.Empty(Endpoint.Requests);
        Assert.False(File.Exists(Path.Combine(Folder, "suite.yaml")));

        // Leaving the categories out that need what it lacks, what is left still needs threads.
        var threads = await Run("generate", "cases", "--with", Endpoint.BaseUrl.ToString(), "--model", "scripted", "--dataset", "plain.jsonl", "--categories", "index,thread", "--out", "suite.yaml");
        Assert.Equal(2, threads.ExitCode);
        Assert.Contains("plain.jsonl: 'thread_ts': no record is a reply in a thread", threads.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnreachableEndpoint_IsAClearErrorNamingIt_AndWritesNothing()
    {
        Assert.Equal(0, (await Run("generate", "slack", "--messages", "8", "--out", "data")).ExitCode);
        var port = FreePort.Next();
        var result = await Run("generate", "cases", "--with", $"http://127.0.0.1:{port}/v1", "--model", "nowhere", "--dataset", "data/messages.jsonl", "--per-category", "1", "--categories", "index", "--out", "suite.yaml");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"'--with': endpoint 'nowhere' at http://127.0.0.1:{port}/v1 answered none of 1 call(s) (propose, round 1): ", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(Folder, "suite.yaml")));
    }

    [Fact]
    public async Task TheSecondPass_AsksTheCheckingEndpoint_AndOneThatCannotBeReachedWritesNothing()
    {
        Assert.Equal(0, (await Run("generate", "slack", "--messages", "12", "--seed", "3", "--out", "data")).ExitCode);
        Endpoint.Default = Writer(DatasetReader.Read(Path.Combine(Folder, "data", "messages.jsonl")).Records);
        var nowhere = $"http://127.0.0.1:{FreePort.Next()}/v1";
        var result = await Run(
            "generate", "cases", "--with", Endpoint.BaseUrl.ToString(), "--model", "scripted", "--check-with", nowhere,
            "--dataset", "data/messages.jsonl", "--categories", "index", "--per-category", "2", "--out", "suite.yaml");

        // The proposals went to the writer (two good index cases); the check went nowhere, so nothing is written.
        Assert.Equal(2, result.ExitCode);
        Assert.Equal(2, Endpoint.Requests.Count);
        Assert.Contains($"'--check-with': endpoint 'scripted' at {nowhere} answered none of 2 call(s) (check): ", result.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(Folder, "suite.yaml")));
    }

    [Fact]
    public async Task MessagesWrittenByAModel_KeepTheGeneratorsStructure_AndQuestionsAreAskedAboutTheNewTexts()
    {
        Assert.Equal(0, (await Run("generate", "slack", "--messages", "20", "--seed", "5", "--out", "drafts")).ExitCode);
        var drafts = DatasetReader.Read(Path.Combine(Folder, "drafts", "messages.jsonl")).Records;

        // The scripted model writes "Kubernetes notes for <ts>" for each message, but declines one.
        Endpoint.Default = context =>
        {
            var ts = TsInQuestion().Match(LastMessage(context)).Groups[1].Value;
            return ScriptedOpenAiServer.Completion(ts == drafts[3]["ts"]!.GetValue<string>() ? "I'm sorry, I can't write that." : $"\"Kubernetes notes for {ts}\"")(context);
        };
        var result = await Run("generate", "slack", "--messages", "20", "--seed", "5", "--with", Endpoint.BaseUrl.ToString(), "--model", "scripted", "--out", "written", "--json");
        Assert.True(result.ExitCode == 0, result.Stderr + result.Stdout);
        var summary = JsonNode.Parse(result.Stdout)!;
        Assert.Equal(19, summary["written"]!.GetValue<int>());
        Assert.Equal(4, summary["drafts"]![0]!["message"]!.GetValue<int>());
        Assert.Equal(20, Endpoint.Requests.Count);

        var written = DatasetReader.Read(Path.Combine(Folder, "written", "messages.jsonl")).Records;
        foreach (var (draft, message) in drafts.Zip(written))
        {
            var ts = draft["ts"]!.GetValue<string>();
            Assert.Equal(draft == drafts[3] ? draft["text"]!.GetValue<string>() : $"Kubernetes notes for {ts}", message["text"]!.GetValue<string>());
            Assert.True(JsonNode.DeepEquals(Without(draft, "text"), Without(message, "text")));
        }

        // The questions are computed from the new texts: every message but the declined one mentions Kubernetes.
        var suite = SuiteFile.Read(Path.Combine(Folder, "written", "suite.yaml"), written.Count);
        var mentioning = written.Where(m => m["text"]!.GetValue<string>().Contains("Kubernetes", StringComparison.Ordinal)).Select(m => m["permalink"]!.GetValue<string>()).Order().ToList();
        Assert.True(mentioning.Count >= 19);
        var content = suite.Cases.Where(c => c.Tags[0] == "content" && c.Question.Contains("Kubernetes", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(content);
        Assert.All(content, c => Assert.Equal(mentioning, c.Expected.Order()));
    }

    private static (int Proposed, int Kept, int Flagged) Counts(JsonNode category) =>
        (category["proposed"]!.GetValue<int>(), category["kept"]!.GetValue<int>(), category["flagged"]!.GetValue<int>());

    private static JsonObject Without(JsonObject record, string field)
    {
        var copy = record.DeepClone().AsObject();
        copy.Remove(field);
        return copy;
    }

    private static string LastMessage(HttpContext context) =>
        ScriptedOpenAiServer.RequestBody(context)["messages"]!.AsArray()[^1]!["content"]!.GetValue<string>();

    // The right permalinks of a kept question, recomputed from the records: index questions name a record, user ones a user.
    private static IEnumerable<string> Expected(IReadOnlyList<JsonObject> messages, string question)
    {
        string Link(JsonObject m) => m["permalink"]!.GetValue<string>();
        if (IndexQuestion().Match(question) is { Success: true } index)
        {
            return [Link(messages[int.Parse(index.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) - 1])];
        }

        var user = UserQuestion().Match(question).Groups[1].Value;
        return messages.Where(m => m["user"]!.GetValue<string>() == user).Select(Link).Order();
    }

    // The scripted model: good index and user cases, unsupported content cases, malformed compound ones, refused
    // thread ones; as the checker, the right answer to index questions and a wrong one to user questions.
    private static Func<HttpContext, Task> Writer(IReadOnlyList<JsonObject> messages) => context =>
    {
        var prompt = LastMessage(context);
        string reply;
        if (ProposalCall().Match(prompt) is { Success: true } call)
        {
            var anchor = int.Parse(call.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
            var user = messages[anchor - 1]["user"]!.GetValue<string>();
            var notMentioning = Enumerable.Range(1, messages.Count).First(n => !messages[n - 1]["text"]!.GetValue<string>().Contains("the", StringComparison.OrdinalIgnoreCase));
            reply = call.Groups[1].Value switch
            {
                "index" => JsonSerializer.Serialize(new { question = $"What is the permalink of message number {anchor}?", reasoning = "it is that record", record = anchor }),
                "user" => $"```json\n{JsonSerializer.Serialize(new { question = $"List the permalinks of every message posted by {user}.", reasoning = "the records by them", user })}\n```",
                "content" => JsonSerializer.Serialize(new { question = "List the permalinks of every message that mentions the.", reasoning = "they mention it", keyword = "the", records = new[] { notMentioning } }),
                "compound" => "{\"question\": \"List the permalinks of every message by " + user + "\", \"records\": [1,",
                _ => "I'm sorry, but I can't help with that.",
            };
        }
        else if (IndexQuestion().Match(prompt) is { Success: true } index)
        {
            reply = messages[int.Parse(index.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) - 1]["permalink"]!.GetValue<string>();
        }
        else
        {
            reply = "https://example.invalid/not-an-answer";
        }

        return ScriptedOpenAiServer.Completion(reply)(context);
    };

    [GeneratedRegex(@"Write one (\w+) question: .*? Build it around record (\d+)\.")]
    private static partial Regex ProposalCall();

    [GeneratedRegex(@"What is the permalink of message number (\d+)\?")]
    private static partial Regex IndexQuestion();

    [GeneratedRegex(@"every message posted by (\S+?)\.")]
    private static partial Regex UserQuestion();

    [GeneratedRegex(@"with ts (\S+) as")]
    private static partial Regex TsInQuestion();
}
