using System.Text;
using EvalMesh.Abstractions;
using LLama;
using LLama.Native;

namespace EvalMesh.Inference.Llama;

/// <summary>One request being decoded: its KV sequence id, the tokens still to feed, and what it has generated.</summary>
/// <param name="prompt">The prompt's tokens.</param>
/// <param name="start">Where feeding starts: the tokens before it are already in the KV cache, shared from sequence 0.</param>
/// <param name="cachedTokens">Of those, how many came from a cache rather than being decoded for this request.</param>
/// <param name="cachesPrompt">Whether the prompt, once decoded, becomes the context's cached prompt.</param>
internal sealed class Sequence(PendingRequest pending, int id, int[] prompt, int start, int cachedTokens, bool cachesPrompt, int reserved, SafeLlamaModelHandle model, StreamingTokenDecoder decoder, InferenceRoute route)
{
    private readonly StringBuilder _text = new();
    private readonly List<int> _tokens = [];
    private readonly List<float> _margins = [];

    // When log probabilities are asked for: each generated token's, with the likeliest alternatives; and where each
    // generated token's text starts, so that they can be matched with the text (a stop sequence cuts it).
    private readonly List<TokenLogprob> _logprobs = [];
    private readonly List<int> _starts = [];
    private int _logprobsStreamed;
    private readonly Random _random = new(pending.Request.Options.Seed);
    private double[]? _weights;
    private int[] _toFeed = prompt[start..];
    private int _fed;
    private int _streamed;

    public PendingRequest Pending => pending;

    public int Id => id;

    public int Position { get; private set; } = start;

    /// <summary>The prompt's tokens.</summary>
    public int[] Prompt => prompt;

    /// <summary>Whether the prompt, once decoded, becomes the context's cached prompt.</summary>
    public bool CachesPrompt => cachesPrompt;

    /// <summary>KV cells this sequence may still take: its unfed tokens plus what it may generate.</summary>
    public int Reserved => reserved;

    public int BatchIndex { get; set; } = -1;

    public int BatchSize { get; set; }

    public int Remaining => _toFeed.Length - _fed;

    public int Generated => _tokens.Count;

    /// <summary>The most decode steps it can still take: one for the prompt left to feed, one per token it may still generate.</summary>
    public int StepsLeft => (Remaining > 0 ? 1 : 0) + pending.Request.Options.MaxTokens - Generated;

    /// <summary>Takes up to <paramref name="budget"/> tokens to feed, advancing positions.</summary>
    public ReadOnlySpan<int> Take(int budget, out int firstPosition)
    {
        firstPosition = Position;
        var count = Math.Min(budget, Remaining);
        var span = _toFeed.AsSpan(_fed, count);
        _fed += count;
        Position += count;
        return span;
    }

    /// <summary>Picks the next token from the logits at this sequence's batch index: greedy, or seeded sampling.</summary>
    public int Sample(ReadOnlySpan<float> logits)
    {
        int best = 0, second = -1;
        for (var i = 1; i < logits.Length; i++)
        {
            if (logits[i] > logits[best])
            {
                second = best;
                best = i;
            }
            else if (second < 0 || logits[i] > logits[second])
            {
                second = i;
            }
        }

        _margins.Add(second < 0 ? float.PositiveInfinity : logits[best] - logits[second]);
        var options = pending.Request.Options;
        var chosen = options.Temperature <= 0 ? best : SampleSoftmax(logits, options.Temperature, logits[best]);
        if (options.TopLogprobs is { } top)
        {
            _logprobs.Add(Logprobs(logits, logits[best], chosen, top));
        }

        return chosen;
    }

    // Log probabilities under the model's own distribution (before temperature): the chosen token's and the likeliest.
    private TokenLogprob Logprobs(ReadOnlySpan<float> logits, float max, int chosen, int top)
    {
        var total = 0.0;
        var likeliest = new List<int>(top + 1);
        for (var i = 0; i < logits.Length; i++)
        {
            total += Math.Exp(logits[i] - max);
            if (likeliest.Count < top || (top > 0 && logits[i] > logits[likeliest[^1]]))
            {
                var at = likeliest.Count;
                while (at > 0 && logits[likeliest[at - 1]] < logits[i])
                {
                    at--;
                }

                likeliest.Insert(at, i);
                if (likeliest.Count > top)
                {
                    likeliest.RemoveAt(top);
                }
            }
        }

        var logTotal = max + Math.Log(total);
        var alternatives = new TokenLogprob[likeliest.Count];
        for (var i = 0; i < likeliest.Count; i++)
        {
            alternatives[i] = Choice(likeliest[i], (float)(logits[likeliest[i]] - logTotal), []);
        }

        return Choice(chosen, (float)(logits[chosen] - logTotal), alternatives);
    }

    // Seeded sampling from the softmax at a temperature; below a top_p of 1, only from the nucleus: the most likely
    // tokens whose probabilities add up to top_p.
    private int SampleSoftmax(ReadOnlySpan<float> logits, float temperature, float max)
    {
        var weights = _weights ??= new double[logits.Length];
        var total = 0.0;
        for (var i = 0; i < logits.Length; i++)
        {
            total += weights[i] = Math.Exp((logits[i] - max) / temperature);
        }

        var topP = pending.Request.Options.TopP;
        if (topP >= 1)
        {
            return Pick(weights, Enumerable.Range(0, weights.Length), total);
        }

        var likeliest = Enumerable.Range(0, weights.Length).OrderByDescending(i => weights[i]).ToArray();
        var (kept, mass) = (0, 0.0);
        while (kept < likeliest.Length && mass < topP * total)
        {
            mass += weights[likeliest[kept++]];
        }

        return Pick(weights, likeliest.Take(kept), mass);
    }

    private int Pick(double[] weights, IEnumerable<int> tokens, double total)
    {
        var target = _random.NextDouble() * total;
        var last = 0;
        foreach (var token in tokens)
        {
            last = token;
            target -= weights[token];
            if (target <= 0)
            {
                return token;
            }
        }

        return last;
    }

    /// <summary>
    /// Appends a generated token; returns the finish reason when generation should end, else null. Text that can no
    /// longer become part of a stop sequence goes to the request's listener as it appears.
    /// </summary>
    public string? Accept(int token, bool endOfGeneration)
    {
        _tokens.Add(token);
        _starts.Add(_text.Length);
        var finish = endOfGeneration ? "stop" : Append(token);
        Stream(finished: finish is not null);
        return finish;
    }

    private string? Append(int token)
    {
        decoder.Add(token);
        _text.Append(decoder.Read());
        foreach (var stop in Stops)
        {
            var at = _text.ToString().IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0)
            {
                _text.Length = at;
                return "stop";
            }
        }

        if (_tokens.Count >= pending.Request.Options.MaxTokens)
        {
            return "length";
        }

        _toFeed = [token];
        _fed = 0;
        return null;
    }

    private IEnumerable<string> Stops => pending.Request.Options.Stop?.Where(s => s.Length > 0) ?? [];

    // How many characters at the end of the text could be the start of a stop sequence, so must wait for more.
    private int StopPrefixLength()
    {
        var longest = 0;
        foreach (var stop in Stops)
        {
            for (var length = Math.Min(stop.Length - 1, _text.Length - _streamed); length > longest; length--)
            {
                if (_text.ToString(_text.Length - length, length).AsSpan().SequenceEqual(stop.AsSpan(0, length)))
                {
                    longest = length;
                    break;
                }
            }
        }

        return longest;
    }

    private void Stream(bool finished)
    {
        if (pending.OnText is not { } listener)
        {
            return;
        }

        var upTo = finished ? _text.Length : _text.Length - StopPrefixLength();
        if (upTo > _streamed)
        {
            var logprobs = LogprobsOfText(_logprobsStreamed, upTo);
            _logprobsStreamed += logprobs?.Count ?? 0;
            listener(new InferenceChunk(_text.ToString(_streamed, upTo - _streamed), null, logprobs, _streamed == 0 ? route : null));
            _streamed = upTo;
        }
    }

    public InferenceReply Reply(string finishReason) =>
        new(_text.ToString(), prompt.Length, _tokens.Count, finishReason, route, cachedTokens, BatchSize, [.. _tokens], [.. _margins], LogprobsOfText(0, _text.Length));

    // The log probabilities of the generated tokens from the first'th on whose text starts before the end'th character
    // (a token cut off by a stop sequence, or the end-of-generation token, has none there); null when not asked for.
    private List<TokenLogprob>? LogprobsOfText(int first, int end)
    {
        if (pending.Request.Options.TopLogprobs is null)
        {
            return null;
        }

        var count = 0;
        while (first + count < _logprobs.Count && _starts[first + count] < end)
        {
            count++;
        }

        return _logprobs.GetRange(first, count);
    }

    private TokenLogprob Choice(int token, float logprob, IReadOnlyList<TokenLogprob> alternatives)
    {
        var bytes = new byte[64];
        var length = (int)model.TokenToSpan((LLamaToken)token, bytes, 0, special: false);
        if (length > bytes.Length)
        {
            bytes = new byte[length];
            model.TokenToSpan((LLamaToken)token, bytes, 0, special: false);
        }

        var exact = bytes[..length];
        return new TokenLogprob(Encoding.UTF8.GetString(exact), exact, logprob, alternatives);
    }
}
