using System.Globalization;
using System.Text.RegularExpressions;

namespace EvalMesh.Testing;

/// <summary>One entry of the bad-input corpus, as its line in <c>BadInputs/manifest.txt</c> describes it.</summary>
/// <param name="Entry">A file in the corpus folder, or one missing from it on purpose.</param>
/// <param name="ExitCode">The CLI's exit code.</param>
/// <param name="Status">The REST API's status, or null when only the CLI can be given the entry (a missing config).</param>
/// <param name="Message">The one line both must print, with <c>{config}</c>, <c>{dir}</c> and <c>{...}</c> in it.</param>
public sealed record BadInput(string Entry, int ExitCode, int? Status, string Message)
{
    /// <summary>The config that runs the entry, in the corpus folder: the entry itself, or the config written for it.</summary>
    public string Config => BadInputCorpus.IsConfig(Entry) ? Entry : Entry + ".run.yaml";

    /// <summary>Whether <paramref name="message"/> is this entry's, where the config is called <paramref name="config"/> and the corpus is in <paramref name="folder"/>.</summary>
    public bool Matches(string message, string config, string folder)
    {
        var pattern = string.Join(".*", Message.Split("{...}").Select(part => Regex.Escape(part.Replace("{config}", config, StringComparison.Ordinal).Replace("{dir}", folder, StringComparison.Ordinal))));
        return Regex.IsMatch(message, $"^{pattern}$", RegexOptions.Singleline);
    }

    /// <inheritdoc />
    public override string ToString() => Entry;
}

/// <summary>
/// The bad-input corpus (tests/EvalMesh.Testing/BadInputs): configs, suites and datasets that are wrong in one way each,
/// and a manifest of what the CLI and the REST API must answer. Adding an entry is a line in the manifest, plus the file
/// unless the entry is about a missing one.
/// </summary>
public static class BadInputCorpus
{
    private static readonly string Source = RepoPaths.Under(Path.Combine("tests", "EvalMesh.Testing", "BadInputs"));

    /// <summary>Every entry, in the manifest's order.</summary>
    public static IReadOnlyList<BadInput> Entries { get; } = [.. File.ReadLines(Path.Combine(Source, "manifest.txt"))
        .Where(line => line.Length > 0 && !line.StartsWith('#'))
        .Select(line => line.Split('|', 4, StringSplitOptions.TrimEntries))
        .Select(fields => new BadInput(
            fields[0],
            int.Parse(fields[1], CultureInfo.InvariantCulture),
            fields[2] == "-" ? null : int.Parse(fields[2], CultureInfo.InvariantCulture),
            fields[3]))];

    /// <summary>The entry named <paramref name="entry"/>.</summary>
    public static BadInput Get(string entry) => Entries.Single(e => e.Entry == entry);

    /// <summary>Copies the corpus into a new temporary folder, with the config that runs each suite and dataset entry.</summary>
    public static string CopyToTemporaryFolder()
    {
        var folder = Directory.CreateTempSubdirectory("evalmesh-bad-inputs-").FullName;
        foreach (var file in Directory.EnumerateFiles(Source))
        {
            File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        }

        foreach (var entry in Entries.Where(e => !IsConfig(e.Entry)))
        {
            File.WriteAllText(Path.Combine(folder, entry.Config), entry.Entry.EndsWith(".suite.yaml", StringComparison.Ordinal) ? RunSuite(entry.Entry) : RunDataset(entry.Entry));
        }

        return folder;
    }

    internal static bool IsConfig(string entry) => entry.EndsWith(".yaml", StringComparison.Ordinal) && !entry.EndsWith(".suite.yaml", StringComparison.Ordinal);

    private static string RunSuite(string suite) => $$"""
        datasets:
          - name: slack
            generate: { kind: slack, messages: 10, seed: 4, cases-per-category: 1 }
        suites:
          - name: slack
            dataset: slack
            path: {{suite}}
        formats: [csv]
        endpoints:
          - name: echo
            type: echo

        """;

    private static string RunDataset(string dataset) => $"""
        datasets:
          - name: data
            path: {dataset}
        suites:
          - name: questions
            dataset: data
            cases:
              - question: Which id comes first?
                expected: "1"
        formats: [csv]
        endpoints:
          - name: echo
            type: echo

        """;
}
