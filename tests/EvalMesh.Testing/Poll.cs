namespace EvalMesh.Testing;

/// <summary>Waits for a condition by polling with a deadline, instead of sleeping for a guessed time.</summary>
public static class Poll
{
    /// <summary>Polls until <paramref name="condition"/> holds; throws <see cref="TimeoutException"/> with <paramref name="what"/> at the deadline.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                // Not ready yet (a server still starting, a grain still activating).
            }

            if (DateTime.UtcNow >= deadline)
            {
                throw new TimeoutException($"timed out after {timeout.TotalSeconds:0} s waiting for {what}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50));
        }
    }
}
