using System.Diagnostics;
using System.Net;
using System.Text.Json;

namespace EvalMesh.Testing;

/// <summary>
/// Waits for a condition by polling with a deadline, instead of sleeping for a guessed time. An attempt that throws
/// counts as "not yet" only when the error can heal (<see cref="IsTransient"/>, or the caller's own rule): any other
/// error ends the wait at once, as it was thrown. At the deadline the timeout names the last error seen and carries it.
/// </summary>
public static class Poll
{
    // HTTP statuses that say "not now" rather than "never" (425 is Too Early).
    private static readonly HashSet<HttpStatusCode> NotReady =
    [
        HttpStatusCode.RequestTimeout, (HttpStatusCode)425, HttpStatusCode.TooManyRequests,
        HttpStatusCode.BadGateway, HttpStatusCode.ServiceUnavailable, HttpStatusCode.GatewayTimeout,
    ];

    /// <summary>
    /// Polls until <paramref name="condition"/> holds; throws <see cref="TimeoutException"/> naming <paramref name="what"/>
    /// and the last error at the deadline. <paramref name="transient"/> says which errors mean "not ready yet"
    /// (<see cref="IsTransient"/> unless given; extend it as <c>ex =&gt; Poll.IsTransient(ex) || ...</c>);
    /// <paramref name="interval"/> is the pause between attempts (50 ms unless given).
    /// </summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, Func<Exception, bool>? transient = null, TimeSpan? interval = null)
    {
        transient ??= IsTransient;
        var clock = Stopwatch.StartNew();
        Exception? last = null;
        while (true)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (Exception ex) when (transient(ex))
            {
                last = ex;
            }

            if (clock.Elapsed >= timeout)
            {
                var cause = last is null ? string.Empty : $"; the last error: {last.GetType().Name}: {last.Message}";
                throw new TimeoutException($"timed out after {timeout.TotalSeconds:0.#} s waiting for {what}{cause}", last);
            }

            await Task.Delay(interval ?? TimeSpan.FromMilliseconds(50));
        }
    }

    /// <summary>
    /// Whether an error may heal by itself: a server still starting (refused connections, 502–504, 429), a request that
    /// timed out, a grain still activating. Not: a test's failed assertion, a bug in the test or the product (bad
    /// arguments, a disposed or missing object, a body that is not what was expected), a request the server refuses
    /// (another 4xx or 5xx), a cancellation, or a process that has exited.
    /// </summary>
    public static bool IsTransient(Exception ex) => ex switch
    {
        ProcessExitedException => false,
        HttpRequestException { StatusCode: { } status } => NotReady.Contains(status),
        HttpRequestException => true,
        TaskCanceledException { InnerException: TimeoutException } => true,
        OperationCanceledException => false,
        ArgumentException or InvalidOperationException or NullReferenceException or InvalidCastException or KeyNotFoundException
            or IndexOutOfRangeException or FormatException or NotSupportedException or NotImplementedException or JsonException => false,
        _ when IsAssertion(ex) => false,
        _ => true,
    };

    // xunit's assertion exceptions all implement Xunit.Sdk.IAssertionException (this library does not reference xunit).
    private static bool IsAssertion(Exception ex) =>
        ex.GetType().GetInterfaces().Any(i => i.FullName == "Xunit.Sdk.IAssertionException");
}
