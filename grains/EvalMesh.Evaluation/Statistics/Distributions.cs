namespace EvalMesh.Evaluation.Statistics;

/// <summary>The standard normal and Student's t distributions: their distribution functions and quantiles.</summary>
public static class Distributions
{
    /// <summary>P(Z ≤ <paramref name="x"/>) for a standard normal Z.</summary>
    public static double NormalCdf(double x) => x switch
    {
        double.PositiveInfinity => 1,
        double.NegativeInfinity => 0,
        < 0 => 0.5 * Erfc(-x / Math.Sqrt(2)),
        _ => 1 - 0.5 * Erfc(x / Math.Sqrt(2)),
    };

    /// <summary>The <paramref name="p"/>-quantile of the standard normal distribution.</summary>
    public static double NormalQuantile(double p)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(p, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(p, 1);
        if (p == 0)
        {
            return double.NegativeInfinity;
        }

        if (p == 1)
        {
            return double.PositiveInfinity;
        }

        // Acklam's rational approximation (relative error 1.15e-9), then one Halley step on the exact tail, which
        // brings it to double precision.
        ReadOnlySpan<double> a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00];
        ReadOnlySpan<double> b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01];
        ReadOnlySpan<double> c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00];
        ReadOnlySpan<double> d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00];
        double x;
        if (p < 0.02425)
        {
            var q = Math.Sqrt(-2 * Math.Log(p));
            x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
        }
        else if (p <= 1 - 0.02425)
        {
            var q = p - 0.5;
            var r = q * q;
            x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
        }
        else
        {
            var q = Math.Sqrt(-2 * Math.Log(1 - p));
            x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
        }

        var e = NormalCdf(x) - p;
        var u = e * Math.Sqrt(2 * Math.PI) * Math.Exp(x * x / 2);
        return x - u / (1 + x * u / 2);
    }

    /// <summary>P(T ≤ <paramref name="t"/>) for Student's t with <paramref name="degreesOfFreedom"/> degrees of freedom.</summary>
    public static double StudentTCdf(double t, double degreesOfFreedom)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(degreesOfFreedom);
        if (double.IsPositiveInfinity(t))
        {
            return 1;
        }

        if (double.IsNegativeInfinity(t))
        {
            return 0;
        }

        var tail = 0.5 * RegularizedBeta(degreesOfFreedom / (degreesOfFreedom + t * t), degreesOfFreedom / 2, 0.5);
        return t < 0 ? tail : 1 - tail;
    }

    /// <summary>The <paramref name="p"/>-quantile of Student's t with <paramref name="degreesOfFreedom"/> degrees of freedom.</summary>
    public static double StudentTQuantile(double p, double degreesOfFreedom)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(degreesOfFreedom);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(p, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(p, 1);
        if (p == 0.5)
        {
            return 0;
        }

        // t is at least as far out as z; widen until the bracket holds the quantile, then bisect.
        var upper = Math.Abs(NormalQuantile(p)) + 1;
        var target = Math.Max(p, 1 - p);
        while (StudentTCdf(upper, degreesOfFreedom) < target)
        {
            upper *= 2;
        }

        var lower = 0.0;
        for (var i = 0; i < 200 && upper - lower > 1e-13 * upper; i++)
        {
            var mid = (lower + upper) / 2;
            if (StudentTCdf(mid, degreesOfFreedom) < target)
            {
                lower = mid;
            }
            else
            {
                upper = mid;
            }
        }

        var x = (lower + upper) / 2;
        return p < 0.5 ? -x : x;
    }

    // erfc by its power series near zero and its continued fraction (Lentz) further out: both to about 1e-15.
    private static double Erfc(double x)
    {
        if (x < 0)
        {
            return 2 - Erfc(-x);
        }

        if (x < 2.5)
        {
            double sum = x, term = x, x2 = x * x;
            for (var n = 1; n < 200; n++)
            {
                term *= -x2 / n;
                var add = term / (2 * n + 1);
                sum += add;
                if (Math.Abs(add) < 1e-17 * Math.Abs(sum))
                {
                    break;
                }
            }

            return 1 - 2 / Math.Sqrt(Math.PI) * sum;
        }

        // erfc(x) = exp(-x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …))))).
        const double tiny = 1e-300;
        var f = x;
        var c = x;
        var d = 0.0;
        for (var k = 1; k < 500; k++)
        {
            var ak = k / 2.0;
            d = x + ak * d;
            d = Math.Abs(d) < tiny ? tiny : d;
            c = x + ak / c;
            c = Math.Abs(c) < tiny ? tiny : c;
            d = 1 / d;
            var delta = c * d;
            f *= delta;
            if (Math.Abs(delta - 1) < 1e-16)
            {
                break;
            }
        }

        return Math.Exp(-x * x) / Math.Sqrt(Math.PI) / f;
    }

    // The regularized incomplete beta function I_x(a, b), by its continued fraction (Numerical Recipes' betacf form).
    private static double RegularizedBeta(double x, double a, double b)
    {
        if (x <= 0)
        {
            return 0;
        }

        if (x >= 1)
        {
            return 1;
        }

        var front = Math.Exp(LogGamma(a + b) - LogGamma(a) - LogGamma(b) + a * Math.Log(x) + b * Math.Log(1 - x));
        return x < (a + 1) / (a + b + 2)
            ? front * BetaFraction(x, a, b) / a
            : 1 - front * BetaFraction(1 - x, b, a) / b;
    }

    private static double BetaFraction(double x, double a, double b)
    {
        const double tiny = 1e-300;
        var c = 1.0;
        var d = 1 - (a + b) * x / (a + 1);
        d = Math.Abs(d) < tiny ? tiny : d;
        d = 1 / d;
        var h = d;
        for (var m = 1; m < 1000; m++)
        {
            var m2 = 2 * m;
            var aa = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
            d = 1 + aa * d;
            d = Math.Abs(d) < tiny ? tiny : d;
            c = 1 + aa / c;
            c = Math.Abs(c) < tiny ? tiny : c;
            d = 1 / d;
            h *= d * c;
            aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
            d = 1 + aa * d;
            d = Math.Abs(d) < tiny ? tiny : d;
            c = 1 + aa / c;
            c = Math.Abs(c) < tiny ? tiny : c;
            d = 1 / d;
            var delta = d * c;
            h *= delta;
            if (Math.Abs(delta - 1) < 1e-15)
            {
                break;
            }
        }

        return h;
    }

    // Lanczos' approximation (g = 7, nine coefficients), about 1e-15 relative.
    private static double LogGamma(double x)
    {
        ReadOnlySpan<double> g = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
        if (x < 0.5)
        {
            return Math.Log(Math.PI / Math.Abs(Math.Sin(Math.PI * x))) - LogGamma(1 - x);
        }

        x -= 1;
        var sum = g[0];
        for (var i = 1; i < g.Length; i++)
        {
            sum += g[i] / (x + i);
        }

        var t = x + 7.5;
        return 0.5 * Math.Log(2 * Math.PI) + (x + 0.5) * Math.Log(t) - t + Math.Log(sum);
    }
}
