using System.Text.Json;

namespace EvalMesh.Training.Tests;

/// <summary>
/// A small task a LoRA adapter on the random tiny model can learn in seconds: a signal colour, buried in noise, decides
/// the answer. Held-out examples use other noise (another seed), so a gain on them is learning, not memorising.
/// </summary>
internal static class SignalData
{
    public static readonly IReadOnlyDictionary<string, string> Answers = new Dictionary<string, string>
    {
        ["red"] = "stop the car",
        ["green"] = "drive on",
        ["amber"] = "slow down",
        ["blue"] = "call the police",
    };

    private static readonly string[] Noise = ["channel", "deploy", "review", "merge", "cost", "report", "query", "thread", "export", "build"];

    public static (string Prompt, string Answer) Example(Random random)
    {
        var colour = Answers.Keys.ElementAt(random.Next(Answers.Count));
        var noise = string.Join(' ', Enumerable.Range(0, 4 + random.Next(4)).Select(_ => Noise[random.Next(Noise.Length)]));
        return ($"Log: {noise} {random.Next(100, 999)}\nThe light is {colour}.\nWhat should the driver do?\nAnswer:", Answers[colour]);
    }

    /// <summary>Writes <paramref name="count"/> examples as chat fine-tuning JSONL, as export-finetune does.</summary>
    public static IReadOnlyList<(string Prompt, string Answer)> Write(string path, int count, int seed)
    {
        var random = new Random(seed);
        var examples = Enumerable.Range(0, count).Select(_ => Example(random)).ToList();
        File.WriteAllLines(path, examples.Select(e => JsonSerializer.Serialize(new
        {
            messages = new object[] { new { role = "user", content = e.Prompt }, new { role = "assistant", content = e.Answer } },
        })));
        return examples;
    }
}
