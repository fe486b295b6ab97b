using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EvalMesh.Abstractions;

namespace EvalMesh.Client;

/// <summary>
/// Inference for the HTTP flavour through the silo's OpenAI-compatible gateway (<c>POST /v1/completions</c>), which
/// routes it to the silo holding the adapter as the Orleans flavour does. What OpenAI's API does not carry stays
/// empty in the reply: the token ids, their margins and the decode batch's size; log probabilities are not asked for.
/// </summary>
internal sealed class GatewayInference(RestTransport rest)
{
    // The gateway's headers: the silo that serves the completion and whether its adapter was already loaded there.
    private const string SiloHeader = "x-evalmesh-silo";
    private const string ResidentHeader = "x-evalmesh-adapter-resident";

    public async IAsyncEnumerable<InferenceChunk> StreamAsync(string model, string prompt, GenerationOptions options, bool stream, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (options.TopLogprobs is not null)
        {
            throw new NotSupportedException("log probabilities are not asked for over HTTP: use the gateway's /v1/chat/completions with 'logprobs' (any OpenAI client), or the Orleans client");
        }

        var request = new JsonObject
        {
            ["model"] = model,
            ["prompt"] = prompt,
            ["max_tokens"] = options.MaxTokens,
            ["temperature"] = options.Temperature,
            ["top_p"] = options.TopP,
            ["seed"] = options.Seed,
            ["stream"] = stream,
        };
        if (options.Stop is { Count: > 0 } stop)
        {
            request["stop"] = new JsonArray([.. stop.Select(s => (JsonNode)s)]);
        }

        if (stream)
        {
            request["stream_options"] = new JsonObject { ["include_usage"] = true };
        }

        using var content = JsonContent.Create(request);
        using var response = await rest.SendAsync(HttpMethod.Post, "v1/completions", content, stream ? HttpCompletionOption.ResponseHeadersRead : HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        var route = new InferenceRoute(
            response.Headers.TryGetValues(SiloHeader, out var silo) ? silo.First() : rest.Options.BaseAddress?.Authority ?? "gateway",
            !response.Headers.TryGetValues(ResidentHeader, out var resident) || resident.First() == "true");
        if (!stream)
        {
            var body = (await response.Content.ReadFromJsonAsync<JsonObject>(cancellationToken).ConfigureAwait(false))!;
            var choice = body["choices"]![0]!;
            yield return new InferenceChunk(string.Empty, Reply(choice["text"]!.GetValue<string>(), choice["finish_reason"]?.GetValue<string>(), body["usage"], route));
            yield break;
        }

        var text = new StringBuilder();
        string? finishReason = null;
        JsonNode? usage = null;
        var events = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await foreach (var item in SseParser.Create(events).EnumerateAsync(cancellationToken).ConfigureAwait(false))
        {
            if (item.Data == "[DONE]")
            {
                break;
            }

            var chunk = JsonNode.Parse(item.Data)!;
            if (chunk["error"]?["message"]?.GetValue<string>() is { } error)
            {
                throw new EvalMeshServerException(500, "inference failed", error);
            }

            usage = chunk["usage"] ?? usage;
            if (chunk["choices"] is JsonArray { Count: > 0 } choices)
            {
                finishReason = choices[0]!["finish_reason"]?.GetValue<string>() ?? finishReason;
                if (choices[0]!["text"]?.GetValue<string>() is { Length: > 0 } piece)
                {
                    yield return new InferenceChunk(piece, null, Route: text.Length == 0 ? route : null);
                    text.Append(piece);
                }
            }
        }

        yield return new InferenceChunk(string.Empty, Reply(text.ToString(), finishReason, usage, route));
    }

    private static InferenceReply Reply(string text, string? finishReason, JsonNode? usage, InferenceRoute route) => new(
        text,
        usage?["prompt_tokens"]?.GetValue<int>() ?? 0,
        usage?["completion_tokens"]?.GetValue<int>() ?? 0,
        finishReason ?? "stop",
        route,
        usage?["prompt_tokens_details"]?["cached_tokens"]?.GetValue<int>() ?? 0,
        BatchSize: 0,
        Tokens: [],
        Margins: []);
}
