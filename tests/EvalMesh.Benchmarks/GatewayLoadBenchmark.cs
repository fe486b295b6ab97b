using System.ClientModel;
using System.Diagnostics;
using System.Globalization;
using EvalMesh.Evaluation.Configuration;
using EvalMesh.Evaluation.Formats;
using EvalMesh.Evaluation.Generation;
using EvalMesh.Testing;
using OpenAI;
using OpenAI.Chat;

namespace EvalMesh.Benchmarks;

/// <summary>
/// The seed experiment's 120 prompts (its 20 questions × 6 formats over the 100 Slack messages, each the whole dataset
/// in one format, about 6,300 tokens as the tiny model counts them) sent through OpenAI's official .NET client to an
/// embedded silo's gateway, streamed, at 1, 8 and 32 in flight; then the same 120 cells as one <c>evalmesh run</c>.
/// Run: <c>dotnet run -c Release --project tests/EvalMesh.Benchmarks -- gateway-load [--rows format-major:8,interleaved:8]</c>;
/// the silo process takes the model host's settings from the environment (such as <c>EvalMesh__ModelHost__BatchSize</c>).
/// </summary>
internal static class GatewayLoadBenchmark
{
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromMinutes(10);

    // Every row: the order the prompts are sent in, and how many are in flight.
    private static readonly (string Order, int InFlight)[] Rows = [("format-major", 1), ("format-major", 8), ("format-major", 32), ("interleaved", 8)];

    /// <summary>Runs every row, or with <c>--rows format-major:8,interleaved:8</c> only those.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        var rows = args is ["--rows", var chosen]
            ? [.. chosen.Split(',').Select(r => r.Split(':')).Select(r => (Order: r[0], InFlight: int.Parse(r[1], CultureInfo.InvariantCulture)))]
            : Rows;
        var folder = Directory.CreateTempSubdirectory("evalmesh-gateway-load-").FullName;
        try
        {
            var example = ConfigLoader.Load(RepoPaths.Under("client/examples/slack-formats.yaml"));

            // Its dataset and prompt, with the whole dataset as every question's context (20 questions), as this
            // benchmark's figures were measured: long prompts that share their context.
            var generate = example.Datasets[0].Generate! with { CasesPerCategory = 4, RecordsPerCase = null };
            var data = SlackGenerator.Generate(generate);
            var cases = data.Suite.Cases;
            var prompts = example.Formats
                .SelectMany(format =>
                {
                    var template = PromptTemplate.Compile(example.Prompt, format, RecordFormats.Get(format).Render(data.Messages));
                    return cases.Select((c, i) => (Format: format, Question: i, Text: template.For(c.Question).Text));
                })
                .ToList();
            var environment = new Dictionary<string, string> { ["EVALMESH_CACHE"] = Path.Combine(folder, "cache"), ["EVALMESH_HOME"] = Path.Combine(folder, "home") };

            var native = await NativeRunAsync(folder, example, generate, environment);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"evalmesh run, the same {prompts.Count} cells (tiny, max-tokens 24, temperature 0): {native.TotalSeconds:0.0} s wall, CLI start included"));
            Console.WriteLine();
            Console.WriteLine("| order | in flight | errors | latency p50 | p95 | slowest | first token p50 | p95 | prompt cache hits | tokens decoded | wall | vs evalmesh run |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            await using var silo = await SiloProcess.StartEmbeddedAsync(Path.Combine(folder, "data"), environment);
            var chat = new ChatClient("tiny-random", new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(silo.Http.BaseAddress!, "/v1"), NetworkTimeout = ClientTimeout });
            await chat.CompleteChatAsync([new UserChatMessage("warm up")], new ChatCompletionOptions { MaxOutputTokenCount = 1 });

            // Format-major is the order of a run; interleaved sends each question in every format before the next question.
            var formatMajor = prompts;
            var interleaved = prompts.OrderBy(p => p.Question).ThenBy(p => p.Format, StringComparer.Ordinal).ToList();
            foreach (var (order, inFlight) in rows)
            {
                var list = order == "interleaved" ? interleaved : formatMajor;
                await SendAsync(silo, chat, order, [.. list.Select(p => p.Text)], inFlight, native);
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }

        return 0;
    }

    private static async Task<TimeSpan> NativeRunAsync(string folder, EvalConfig example, SlackGeneratorOptions generate, Dictionary<string, string> environment)
    {
        var config = Path.Combine(folder, "native.yaml");
        await File.WriteAllTextAsync(config, string.Create(CultureInfo.InvariantCulture, $$"""
            datasets:
              - name: slack
                generate: { kind: slack, messages: {{generate.Messages}}, seed: {{generate.Seed}}, cases-per-category: {{generate.CasesPerCategory}} }
            suites:
              - { name: slack, dataset: slack, generated: true }
            formats: [{{string.Join(", ", example.Formats)}}]
            endpoints:
              - { name: tiny, type: llama, model: tiny-random, max-tokens: 24, temperature: 0 }
            prompt: {{System.Text.Json.JsonSerializer.Serialize(example.Prompt)}}
            concurrency: 8
            """));

        // The first run generates the tiny model into the cache; the second is timed.
        await CliRunner.RunAsync(folder, environment, "run", config, "--out", Path.Combine(folder, "warm"));
        var watch = Stopwatch.StartNew();
        var run = await CliRunner.RunAsync(folder, environment, "run", config, "--out", Path.Combine(folder, "native"));
        var elapsed = watch.Elapsed;
        return run.ExitCode is 0 or 1 ? elapsed : throw new InvalidOperationException($"evalmesh run failed ({run.ExitCode}): {run.Stderr}");
    }

    private static async Task SendAsync(SiloProcess silo, ChatClient chat, string order, IReadOnlyList<string> prompts, int inFlight, TimeSpan native)
    {
        var (hitsBefore, lookupsBefore, decodedBefore) = (await silo.MetricAsync("evalmesh_prefix_cache_lookups_total", "result=\"hit\""), await silo.MetricAsync("evalmesh_prefix_cache_lookups_total"), await silo.MetricAsync("evalmesh_inference_prompt_tokens_total"));
        var latencies = new List<double>();
        var firstTokens = new List<double>();
        var errors = 0;
        using var gate = new SemaphoreSlim(inFlight);
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(prompts.Select(async prompt =>
        {
            await gate.WaitAsync();
            try
            {
                var started = Stopwatch.GetTimestamp();
                double? first = null;
                await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage(prompt)], new ChatCompletionOptions { MaxOutputTokenCount = 24, Temperature = 0 }))
                {
                    first ??= update.ContentUpdate.Count > 0 ? Stopwatch.GetElapsedTime(started).TotalSeconds : null;
                }

                lock (latencies)
                {
                    latencies.Add(Stopwatch.GetElapsedTime(started).TotalSeconds);
                    firstTokens.Add(first ?? Stopwatch.GetElapsedTime(started).TotalSeconds);
                }
            }
            catch (Exception ex) when (ex is ClientResultException or HttpRequestException or IOException or TaskCanceledException)
            {
                Interlocked.Increment(ref errors);
                Console.Error.WriteLine($"{ex.GetType().Name}: {ex.Message}");
            }
            finally
            {
                gate.Release();
            }
        }));
        var wall = watch.Elapsed;
        var hits = await silo.MetricAsync("evalmesh_prefix_cache_lookups_total", "result=\"hit\"") - hitsBefore;
        var lookups = await silo.MetricAsync("evalmesh_prefix_cache_lookups_total") - lookupsBefore;
        var decoded = await silo.MetricAsync("evalmesh_inference_prompt_tokens_total") - decodedBefore;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {order} | {inFlight} | {errors} | {Percentile(latencies, 50):0.00} s | {Percentile(latencies, 95):0.00} s | {latencies.DefaultIfEmpty().Max():0.00} s | {Percentile(firstTokens, 50):0.00} s | {Percentile(firstTokens, 95):0.00} s | {hits / Math.Max(1, lookups):P0} | {decoded:N0} | {wall.TotalSeconds:0.0} s | {wall / native:0.00}x |"));
    }

    private static double Percentile(List<double> values, double percentile)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToList();
        return sorted[(int)Math.Clamp(Math.Ceiling(percentile / 100 * sorted.Count) - 1, 0, sorted.Count - 1)];
    }
}
