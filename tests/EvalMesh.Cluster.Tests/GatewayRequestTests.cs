using System.Text.Json;
using System.Text.Json.Nodes;
using CsCheck;
using EvalMesh.Silo.Apis;
using EvalMesh.Testing;

namespace EvalMesh.Cluster.Tests;

/// <summary>
/// The gateway's request parser (internal to the silo), fed bodies as the gateway reads them (text, then <see cref="JsonNode.Parse(string, JsonNodeOptions?, JsonDocumentOptions)"/>):
/// random text, valid requests with text edits (duplicate keys, unpaired surrogate escapes, huge numbers) and with
/// structural edits (fields of every type). It returns a request or throws <see cref="JsonException"/> or
/// <see cref="GatewayRequestException"/>, which the gateway answers with 400; anything else would be a 500.
/// </summary>
public class GatewayRequestTests
{
    private static readonly Gen<string> Key = Gen.OneOf(
        Gen.OneOf("model", "messages", "prompt", "max_tokens", "max_completion_tokens", "temperature", "stop", "stream", "seed", "role", "content", "type", "text"),
        Gen.String[Gen.Char.AlphaNumeric, 0, 8]);

    private static readonly Gen<string> Word = Gen.OneOf(
        Gen.OneOf("tiny", "tiny-random", "tiny-random:adapter-1", "user", "system", "assistant", "", " ", "text", "image_url", "\ud800", "\0", "😀"),
        Gen.String);

    private static readonly Gen<JsonNode> Valid = Gen.OneOf(
        """{"model":"tiny-random:adapter-1","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"Hi"}]}],"max_tokens":6,"temperature":0.5,"stop":["\n"],"stream":true,"seed":3}""",
        """{"model":"tiny-random","prompt":["Hello"],"max_completion_tokens":8,"stop":"."}""").Select(text => JsonNode.Parse(text)!);

    private static readonly Gen<string> Token = Gen.OneOf(
        Gen.OneOf("\"", ",", ":", "{", "}", "[", "]", "\\", "\\ud800", "\\udc00", "null", "true", "1e400", "-0", "1.5", "99999999999", ",\"model\":\"x\"",
            ",\"messages\":[]", "{\"role\":\"\"}", "[[]]", new string('[', 70)),
        Gen.String[0, 4]);

    [Fact]
    public void Parse_AnyBody_ReturnsARequestOrThrowsWhatTheGatewayAnswersWith400() => Fuzz.Parser(
        Gen.Select(
            Gen.Frequency(
                (1, Gen.String),
                (3, Valid.Select(json => json.ToJsonString()).Mutated(Token)),
                (3, Valid.Restructured(Key, Fuzz.Json(Key, Word)).Select(json => json.ToJsonString()))),
            Gen.Bool),
        input => GatewayRequest.Parse(JsonNode.Parse(input.Item1), chat: input.Item2),
        ciIterations: 50_000,
        [typeof(JsonException), typeof(GatewayRequestException)]);

    // Found by the fuzz test above: each used to escape as an ArgumentException or InvalidOperationException, a 500.
    [Theory]
    [InlineData("""{"model":"tiny-random","model":"other","prompt":"x"}""", "body")]
    [InlineData("""{"model":"\ud800","prompt":"x"}""", "body")]
    [InlineData("""{"model":"tiny-random","messages":[1]}""", "messages")]
    [InlineData("""{"model":"tiny-random","messages":[{"role":"","content":"x"}]}""", "messages")]
    [InlineData("""{"model":"tiny-random","messages":[{"role":"user","content":[1]}]}""", "messages")]
    [InlineData("""{"model":"tiny-random","messages":[{"role":"user","content":[{"type":"text","text":1}]}]}""", "messages")]
    public void Parse_BodyThatUsedToBeA500_IsRejectedNamingTheParameter(string body, string param)
    {
        var ex = Assert.Throws<GatewayRequestException>(() => GatewayRequest.Parse(JsonNode.Parse(body), chat: !body.Contains("prompt", StringComparison.Ordinal)));
        Assert.Equal(param, ex.Param);
    }

    // The gateway answers each with 400, OpenAI's error shape and the parameter's name (GatewayTests checks that over HTTP).
    [Theory]
    [InlineData("\"top_logprobs\":3", "top_logprobs")]
    [InlineData("\"logprobs\":true,\"top_logprobs\":21", "top_logprobs")]
    [InlineData("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]", "tools")]
    [InlineData("\"response_format\":{\"type\":\"json_object\"}", "response_format")]
    [InlineData("\"presence_penalty\":0.5", "presence_penalty")]
    [InlineData("\"logit_bias\":{\"42\":10}", "logit_bias")]
    [InlineData("\"n\":0", "n")]
    [InlineData("\"n\":129", "n")]
    [InlineData("\"top_p\":0", "top_p")]
    [InlineData("\"top_p\":1.5", "top_p")]
    [InlineData("\"stream_options\":{\"include_usage\":true}", "stream_options")]
    [InlineData("\"stream\":\"yes\"", "stream")]
    public void Parse_FieldThatWouldChangeTheAnswerButIsNotHonoured_IsRefusedByName(string field, string param)
    {
        var body = $$"""{"model":"tiny-random","messages":[{"role":"user","content":"x"}],"max_tokens":2,{{field}}}""";
        var ex = Assert.Throws<GatewayRequestException>(() => GatewayRequest.Parse(JsonNode.Parse(body), chat: true));
        Assert.Equal(param, ex.Param);
    }
}
