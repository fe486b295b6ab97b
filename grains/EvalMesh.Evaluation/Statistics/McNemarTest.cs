namespace EvalMesh.Evaluation.Statistics;

/// <summary>The exact McNemar test for two formats (or models) scored on the same items.</summary>
/// <param name="OnlyFirstPassed">Discordant pairs where only the first passed (b).</param>
/// <param name="OnlySecondPassed">Discordant pairs where only the second passed (c).</param>
/// <param name="PValue">Two-sided exact p-value: 2·P(X ≤ min(b, c)) for X ~ Binomial(b + c, ½), capped at 1.</param>
public readonly record struct McNemarTest(int OnlyFirstPassed, int OnlySecondPassed, double PValue)
{
    /// <summary>Runs the test over paired outcomes (same item under both conditions).</summary>
    public static McNemarTest Compute(IEnumerable<(bool First, bool Second)> pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        int b = 0, c = 0;
        foreach (var (first, second) in pairs)
        {
            if (first && !second)
            {
                b++;
            }
            else if (second && !first)
            {
                c++;
            }
        }

        return FromCounts(b, c);
    }

    /// <summary>Runs the test from the discordant counts.</summary>
    public static McNemarTest FromCounts(int onlyFirstPassed, int onlySecondPassed)
    {
        var n = onlyFirstPassed + onlySecondPassed;
        if (n == 0)
        {
            return new McNemarTest(0, 0, 1);
        }

        var k = Math.Min(onlyFirstPassed, onlySecondPassed);

        // Sum the binomial tail in log space so that thousands of discordant pairs do not underflow.
        var logHalfPowN = n * Math.Log(0.5);
        var tail = 0.0;
        var logChoose = 0.0;
        for (var i = 0; i <= k; i++)
        {
            if (i > 0)
            {
                logChoose += Math.Log(n - i + 1) - Math.Log(i);
            }

            tail += Math.Exp(logChoose + logHalfPowN);
        }

        return new McNemarTest(onlyFirstPassed, onlySecondPassed, Math.Min(1, 2 * tail));
    }
}
