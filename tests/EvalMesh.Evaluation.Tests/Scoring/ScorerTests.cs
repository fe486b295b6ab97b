using EvalMesh.Evaluation.Scoring;

namespace EvalMesh.Evaluation.Tests.Scoring;

public class ScorerTests
{
    private static ScoreResult Score(ScorerSpec spec, string output, params string[] expected) =>
        ScorerFactory.Create(spec).ScoreAsync(new ScoreRequest("q", output, expected)).AsTask().Result;

    [Theory]
    [InlineData("  Paris ", "Paris", true)]
    [InlineData("paris", "Paris", false)]
    [InlineData("ＡＢＣ１２３", "ABC123", true)]
    [InlineData("", "Paris", false)]
    public void Exact_DefaultNormalisation_TrimsAndAppliesNfkc(string output, string expected, bool passed)
    {
        Assert.Equal(passed, Score(new ScorerSpec("exact"), output, expected).Passed);
    }

    [Fact]
    public void Exact_IgnoreCaseAndNoTrim_AreConfigurable()
    {
        Assert.True(Score(new ScorerSpec("exact", IgnoreCase: true), "PARIS", "paris").Passed);
        Assert.False(Score(new ScorerSpec("exact", Trim: false), " Paris", "Paris").Passed);
        Assert.False(Score(new ScorerSpec("exact", Nfkc: false), "ＡＢＣ", "ABC").Passed);
    }

    [Theory]
    [InlineData("B", 'B')]
    [InlineData(" (b) ", 'B')]
    [InlineData("C.", 'C')]
    [InlineData("D) #data-eng", 'D')]
    [InlineData("(A) Grafana, in the message from alex", 'A')]
    [InlineData("Reasoning first. ANSWER: C", 'C')]
    [InlineData("A looks likely, but the answer is (B).", 'B')]
    [InlineData("Answer: A. On second thought, answer: D", 'D')]
    [InlineData("The correct answer - C, since it mentions BigQuery", 'C')]
    [InlineData("I think it is the second one", null)]
    [InlineData("A cat sat on the mat", null)]
    [InlineData("the answer is a guess", null)]
    [InlineData("", null)]
    public void Choice_ReadsTheLetterAnAnswerChooses(string output, char? letter) =>
        Assert.Equal(letter, ChoiceScorer.ChosenLetter(output));

    [Fact]
    public void Choice_PassesOnAnExpectedLetter_AndSaysWhatWasChosen()
    {
        Assert.False(Score(new ScorerSpec("choice"), "ANSWER: b", "B").Passed);
        Assert.True(Score(new ScorerSpec("choice"), "ANSWER: B", "b").Passed);
        Assert.True(Score(new ScorerSpec("choice"), "(C)", "A", "C").Passed);
        Assert.Equal("the answer chose A, expected B", Score(new ScorerSpec("choice"), "A.", "B").Reason);
        Assert.Equal("the answer names no option letter (expected B)", Score(new ScorerSpec("choice"), "not sure", "B").Reason);
        Assert.Equal("B", ScorerFactory.ReferenceAnswer("choice", ["B"]));
        Assert.Null(ChoiceScorer.Validate("c"));
        Assert.NotNull(ChoiceScorer.Validate("AB"));
    }

    private const string CountSchema = """
        {"type": "object", "required": ["channel", "count"],
         "properties": {"channel": {"type": "string"}, "count": {"type": "integer", "minimum": 0}}}
        """;

    [Fact]
    public void JsonSchema_PassesJsonThatMatches_InsideAFenceToo_AndSaysWhereOtherJsonFails()
    {
        var spec = new ScorerSpec("json-schema");
        Assert.True(Score(spec, "```json\n{\"channel\": \"#data-eng\", \"count\": 3}\n```", CountSchema).Passed);
        Assert.True(Score(spec, "{\"channel\": \"#general\", \"count\": 0, \"extra\": true}", CountSchema).Passed);

        var wrong = Score(spec, "Here it is: {\"channel\": 5, \"count\": -1}", CountSchema);
        Assert.False(wrong.Passed);
        Assert.StartsWith("the answer's JSON does not match the schema: ", wrong.Reason, StringComparison.Ordinal);
        Assert.Contains("/channel", wrong.Reason, StringComparison.Ordinal);
        Assert.Contains("/count", wrong.Reason, StringComparison.Ordinal);

        Assert.Contains("required", Score(spec, "{\"channel\": \"#general\"}", CountSchema).Reason, StringComparison.OrdinalIgnoreCase);
        Assert.Equal("the answer holds no JSON value", Score(spec, "three messages", CountSchema).Reason);
        Assert.Null(ScorerFactory.ReferenceAnswer("json-schema", [CountSchema]));
    }

    [Theory]
    [InlineData("true", true)]
    [InlineData("{\"type\": \"integer\"}", true)]
    [InlineData("{\"type\": 12}", false)]
    [InlineData("{\"minimum\": \"zero\"}", false)]
    [InlineData("not json", false)]
    public void JsonSchema_ASchemaThatDoesNotBuild_IsCaughtWhenTheSuiteLoads(string schema, bool builds) =>
        Assert.Equal(builds, JsonSchemaScorer.Validate(schema) is null);

    [Fact]
    public void Contains_AnyExpectedValue_Passes()
    {
        Assert.True(Score(new ScorerSpec("contains"), "The answer is Tokyo.", "Osaka", "Tokyo").Passed);
        Assert.False(Score(new ScorerSpec("contains"), "The answer is Kyoto.", "Osaka", "Tokyo").Passed);
    }

    [Fact]
    public void Regex_MatchesAndReportsTimeouts()
    {
        Assert.True(Score(new ScorerSpec("regex"), "order #1234 shipped", @"#\d{4}\b").Passed);
        Assert.False(Score(new ScorerSpec("regex"), "order shipped", @"#\d{4}\b").Passed);
        Assert.NotNull(RegexScorer.Validate("(unclosed"));
        var slow = Score(new ScorerSpec("regex"), new string('a', 40) + "!", "^(a+)+$");
        Assert.False(slow.Passed);
    }

    [Theory]
    [InlineData("""{"b": [1, 2], "a": 1.0}""", true)]
    [InlineData("Sure! ```json\n{\"a\": 1, \"b\": [1, 2]}\n```", true)]
    [InlineData("""{"a": 1, "b": [2, 1]}""", false)]
    [InlineData("not json at all {", false)]
    [InlineData("", false)]
    public void JsonEquals_IsStructural(string output, bool passed)
    {
        Assert.Equal(passed, Score(new ScorerSpec("json-equals"), output, """{"a":1,"b":[1,2]}""").Passed);
    }

    [Theory]
    [InlineData("It is about 3.14159.", 0.01, true)]
    [InlineData("It is 3.2", 0.01, false)]
    [InlineData("1,234 items", 0, true)]
    [InlineData("no number here", 1, false)]
    public void Numeric_WithinTolerance(string output, double tolerance, bool passed)
    {
        Assert.Equal(passed, Score(new ScorerSpec("numeric", Tolerance: tolerance), output, output.Contains("1,234") ? "1234" : "3.1416").Passed);
    }

    [Fact]
    public void UrlSet_ExactSet_PassesWithPerfectF1()
    {
        var result = Score(new ScorerSpec("url-set"), "See <https://a.slack.com/archives/C1/p1> and https://a.slack.com/archives/C1/p2?thread_ts=1.2&amp;cid=C1.",
            "https://a.slack.com/archives/C1/p1", "https://a.slack.com/archives/C1/p2?thread_ts=1.2&cid=C1");
        Assert.True(result.Passed, result.Reason);
        Assert.Equal(1, result.Score);
    }

    [Fact]
    public void UrlSet_PartialAnswer_ReportsPrecisionRecallAndF1()
    {
        var result = Score(new ScorerSpec("url-set"), "https://x/1 https://x/3", "https://x/1", "https://x/2");
        Assert.False(result.Passed);
        Assert.Equal(0.5, result.Score, 6);
        Assert.Contains("precision 0.5, recall 0.5, F1 0.5", result.Reason);
        Assert.True(Score(new ScorerSpec("url-set", MinF1: 0.5), "https://x/1 https://x/3", "https://x/1", "https://x/2").Passed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("\u0000\uFFFD garbage ]]]")]
    public void EveryScorer_EmptyOrGarbledAnswer_FailsWithoutThrowing(string output)
    {
        foreach (var name in ScorerFactory.Names.Where(n => n != "llm-judge"))
        {
            var result = Score(new ScorerSpec(name), output, name == "json-equals" ? "{\"a\":1}" : "expected");
            Assert.False(result.Passed, name);
            Assert.False(string.IsNullOrEmpty(result.Reason), name);
        }
    }

    [Fact]
    public void Create_UnknownScorer_ListsKnownOnes()
    {
        var ex = Assert.Throws<UnknownNameException>(() => ScorerFactory.Create(new ScorerSpec("exakt")));
        Assert.Contains("did you mean 'exact'", ex.Message);
    }

    [Theory]
    [InlineData("""{"pass": true, "score": 0.8, "reason": "complete"}""", true, 0.8)]
    [InlineData("Verdict: {\"pass\": false, \"reason\": \"missing a link\"}", false, 0)]
    [InlineData("I think it passes", false, 0)]
    [InlineData("""{"pass": "yes"}""", false, 0)]
    public void LlmJudge_ParsesVerdictsAndFailsOnGarbledOnes(string reply, bool passed, double score)
    {
        var result = LlmJudgeScorer.ParseVerdict(reply);
        Assert.Equal(passed, result.Passed);
        Assert.Equal(score, result.Score, 6);
    }

    [Fact]
    public async Task LlmJudge_AsksTheJudgeModelWithTheRubric()
    {
        var judge = new RecordingJudge("""{"pass": true, "score": 1, "reason": "ok"}""");
        var scorer = ScorerFactory.Create(new ScorerSpec("llm-judge", Rubric: "mentions Tokyo"), judge);
        var result = await scorer.ScoreAsync(new ScoreRequest("Capital of Japan?", "Tokyo", ["Tokyo"]), TestContext.Current.CancellationToken);
        Assert.True(result.Passed);
        Assert.Contains("Rubric: mentions Tokyo", judge.LastPrompt);
        Assert.Contains("Answer: Tokyo", judge.LastPrompt);
    }

    // The judge model is an IChatClient; here it is a scripted one because the point is the prompt and the parsing.
    private sealed class RecordingJudge(string reply) : Microsoft.Extensions.AI.IChatClient
    {
        public string LastPrompt { get; private set; } = string.Empty;

        public Task<Microsoft.Extensions.AI.ChatResponse> GetResponseAsync(IEnumerable<Microsoft.Extensions.AI.ChatMessage> messages, Microsoft.Extensions.AI.ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            LastPrompt = string.Join("\n", messages.Select(m => m.Text));
            return Task.FromResult(new Microsoft.Extensions.AI.ChatResponse(new Microsoft.Extensions.AI.ChatMessage(Microsoft.Extensions.AI.ChatRole.Assistant, reply)));
        }

        public IAsyncEnumerable<Microsoft.Extensions.AI.ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<Microsoft.Extensions.AI.ChatMessage> messages, Microsoft.Extensions.AI.ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }

    [Theory]
    [InlineData("exact", new[] { "Paris", "paris" })]
    [InlineData("contains", new[] { "Tokyo", "Kyoto" })]
    [InlineData("numeric", new[] { "42.5" })]
    [InlineData("json-equals", new[] { "{\"a\": [1, 2]}" })]
    [InlineData("url-set", new[] { "https://a.example/1", "https://b.example/2?x=1&y=2" })]
    public void ReferenceAnswer_PassesItsOwnScorer(string scorer, string[] expected)
    {
        var answer = ScorerFactory.ReferenceAnswer(scorer, expected);
        Assert.NotNull(answer);
        Assert.True(Score(new ScorerSpec(scorer), answer, expected).Passed, answer);
    }

    [Fact]
    public void ReferenceAnswer_OfPatternsOrNothing_IsNone_AndAnUnknownScorerIsNamed()
    {
        Assert.Null(ScorerFactory.ReferenceAnswer("regex", ["^a+$"]));
        Assert.Null(ScorerFactory.ReferenceAnswer("exact", []));
        Assert.Equal("unknown scorer 'exakt' (did you mean 'exact'?); known scorers: exact, contains, regex, json-equals, json-schema, numeric, url-set, choice, llm-judge", Assert.Throws<UnknownNameException>(() => ScorerFactory.ReferenceAnswer("exakt", ["a"])).Message);
    }
}
