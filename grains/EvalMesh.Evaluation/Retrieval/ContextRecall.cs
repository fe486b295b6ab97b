using System.Text.Json.Nodes;
using EvalMesh.Evaluation.Formats;
using EvalMesh.Evaluation.Suites;

namespace EvalMesh.Evaluation.Retrieval;

/// <summary>
/// Whether a case's context holds the records its expected answer needs: a record is needed when one of its values
/// contains an expected value (a permalink, a name, a number), and recall is the share of needed records the case was
/// given. A case whose expected values appear in no record needs none and is left out.
/// </summary>
public static class ContextRecall
{
    /// <summary>The mean recall over the cases that need a record, and how many they are; null when no case does.</summary>
    public static (double Recall, int Cases)? Of(IReadOnlyList<JsonObject> records, IReadOnlyList<TestCase> cases)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(cases);
        var values = records.Select(r => FlatRecords.Flatten(r).Values.ToList()).ToList();
        var (sum, counted) = (0.0, 0);
        foreach (var testCase in cases)
        {
            var needed = Enumerable.Range(1, records.Count)
                .Where(n => testCase.Expected.Any(expected => expected.Length > 0 && values[n - 1].Any(v => v.Contains(expected, StringComparison.Ordinal))))
                .ToList();
            if (needed.Count == 0)
            {
                continue;
            }

            var given = testCase.Records is { } chosen ? chosen.ToHashSet() : null;
            sum += given is null ? 1 : (double)needed.Count(given.Contains) / needed.Count;
            counted++;
        }

        return counted == 0 ? null : (sum / counted, counted);
    }
}
