using System.Text.Json.Nodes;
using EvalMesh.Evaluation.Generation;
using EvalMesh.Evaluation.Retrieval;
using EvalMesh.Evaluation.Suites;

namespace EvalMesh.Evaluation.Tests.Retrieval;

public class Bm25RetrieverTests
{
    private static JsonObject Message(string user, string text) => new() { ["user"] = user, ["text"] = text };

    [Fact]
    public void Retrieve_RanksByTermsThatAreRareAndFrequentInTheRecord_AndReturnsNumbersInDatasetOrder()
    {
        JsonObject[] records =
        [
            Message("U1", "lunch plans for friday"),
            Message("U2", "BigQuery costs rose; BigQuery slots are full"),
            Message("U3", "the BigQuery export failed"),
            Message("U4", "deploy window moved to friday"),
        ];
        using var retriever = new Bm25Retriever(records);

        // "bigquery" is in records 2 and 3, twice in 2; "friday" in 1 and 4: the two BigQuery records win.
        Assert.Equal([2, 3], retriever.Retrieve("Which messages mention BigQuery?", 2));
        Assert.Equal([2], retriever.Retrieve("Which messages mention BigQuery?", 1));
        Assert.Equal([1, 4], retriever.Retrieve("plans for Friday?", 2).Order());

        // Keys are indexed with values: a user id finds that user's message.
        Assert.Equal([3], retriever.Retrieve("messages posted by U3", 1));
        Assert.Empty(retriever.Retrieve("?!", 3));
    }

    [Fact]
    public void Retrieve_OnTheGeneratedSlackData_FindsMostOfTheRecordsTheAnswersNeed()
    {
        var data = SlackGenerator.Generate(new SlackGeneratorOptions(Messages: 100, Seed: 7, CasesPerCategory: 4));
        using var retriever = new Bm25Retriever(data.Suite.Cases.Count > 0 ? data.Messages : []);
        var retrieved = data.Suite.Cases.Select(c => c with { Records = retriever.Retrieve(c.Question, 10) }).ToList();
        Assert.All(retrieved, c => Assert.InRange(c.Records!.Count, 1, 10));
        Assert.All(retrieved, c => Assert.Equal(c.Records!.Order(), c.Records!));

        // User questions name the user, content questions the topic: retrieval finds their records, though a topic with
        // more than ten messages cannot have them all. Ten records chosen at random would hold about 10% of them.
        var (recall, cases) = ContextRecall.Of(data.Messages, [.. retrieved.Where(c => c.Tags[0] is "user" or "content")])!.Value;
        Assert.True(cases >= 8);
        Assert.True(recall > 0.5, $"recall {recall:P0} over {cases} user and content cases");
    }

    [Fact]
    public void ContextRecall_IsTheShareOfNeededRecordsGiven_AveragedOverCasesThatNeedOne()
    {
        JsonObject[] records = [Message("U1", "see https://x/p1"), Message("U2", "see https://x/p2"), Message("U3", "nothing")];
        TestCase Case(string[] expected, int[]? given) => new("c", "q", expected, new("url-set"), ["t"], given);

        var (recall, cases) = ContextRecall.Of(records, [Case(["https://x/p1", "https://x/p2"], [1, 3]), Case(["https://x/p2"], [2]), Case(["absent"], [3])])!.Value;
        Assert.Equal(2, cases);
        Assert.Equal((0.5 + 1.0) / 2, recall, 10);
        Assert.Equal(1.0, ContextRecall.Of(records, [Case(["https://x/p1"], null)])!.Value.Recall);
        Assert.Null(ContextRecall.Of(records, [Case(["absent"], [1])]));
    }
}
