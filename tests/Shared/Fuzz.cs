using System.Collections.Concurrent;
using System.Globalization;
using CsCheck;

namespace EvalMesh.Testing;

/// <summary>
/// Fuzzing a parser with CsCheck: whatever it is fed, it must return or throw one of its documented, user-facing
/// exceptions; anything else (a NullReferenceException, an IndexOutOfRangeException, an OverflowException ...) fails the
/// test with the smallest input that shows it and a seed to replay it. Iterations are bounded for CI; set
/// <c>EVALMESH_FUZZ_ITERATIONS</c> to run more. (Linked into each test project that fuzzes; see tests/Shared.)
/// </summary>
internal static class Fuzz
{
    /// <summary>The environment variable that sets the iterations of every fuzz test.</summary>
    public const string IterationsVariable = "EVALMESH_FUZZ_ITERATIONS";

    /// <summary>
    /// Feeds <paramref name="parse"/> <paramref name="ciIterations"/> generated inputs (or <c>EVALMESH_FUZZ_ITERATIONS</c>)
    /// and writes to the test output how many were accepted and how many rejected, by exception type. The generator must
    /// reach both outcomes: a fuzzer whose inputs are all rejected, or all accepted, tests little.
    /// </summary>
    public static void Parser<T>(Gen<T> inputs, Action<T> parse, int ciIterations, Type[] documented, Func<T, string>? print = null)
    {
        var iterations = int.TryParse(Environment.GetEnvironmentVariable(IterationsVariable), NumberStyles.None, CultureInfo.InvariantCulture, out var asked) && asked > 0
            ? asked
            : ciIterations;
        var outcomes = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        inputs.Sample(input =>
        {
            string outcome;
            try
            {
                parse(input);
                outcome = "accepted";
            }
            catch (Exception ex) when (documented.Any(type => type.IsInstanceOfType(ex)))
            {
                outcome = ex.GetType().Name;
            }

            outcomes.AddOrUpdate(outcome, 1, (_, count) => count + 1);
        }, iter: iterations, print: print);

        var accepted = outcomes.GetValueOrDefault("accepted");
        var rejected = outcomes.Where(o => o.Key != "accepted").OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => $"{o.Value:N0} {o.Key}");
        TestContext.Current.TestOutputHelper?.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"fuzz: {iterations:N0} inputs ({IterationsVariable} for more): {accepted:N0} accepted, rejected: {string.Join(", ", rejected)}"));
        if (iterations >= 100)
        {
            Assert.True(accepted > 0 && accepted < iterations, $"the generator should give both inputs that parse and inputs that do not ({accepted} of {iterations} parsed)");
        }
    }

    /// <summary>Valid inputs with one to four edits: tokens inserted or written over, spans deleted or repeated, truncation.</summary>
    public static Gen<T[]> Mutated<T>(this Gen<T[]> valid, Gen<T[]> tokens) =>
        Gen.Select(valid, Gen.Select(Gen.Int[0, 4], Gen.Double.Unit, Gen.Double.Unit, tokens).Array[1, 4])
            .Select(sample => sample.Item2.Aggregate(sample.Item1, (input, edit) => Edit(input, edit.Item1, edit.Item2, edit.Item3, edit.Item4)));

    /// <summary>Valid text with one to four edits (see <see cref="Mutated{T}(Gen{T[]}, Gen{T[]})"/>).</summary>
    public static Gen<string> Mutated(this Gen<string> valid, Gen<string> tokens) =>
        valid.Select(text => text.ToCharArray()).Mutated(tokens.Select(token => token.ToCharArray())).Select(chars => new string(chars));

    private static T[] Edit<T>(T[] input, int kind, double at, double span, T[] token)
    {
        var start = (int)(at * (input.Length + 1));
        var length = Math.Min(input.Length - start, 1 + (int)(span * 64));
        return kind switch
        {
            0 => [.. input[..start], .. token, .. input[start..]],
            1 => [.. input[..start], .. token, .. input[Math.Min(input.Length, start + token.Length)..]],
            2 => [.. input[..start], .. input[(start + length)..]],
            3 => [.. input[..(start + length)], .. input[start..]],
            _ => input[..start],
        };
    }
}
