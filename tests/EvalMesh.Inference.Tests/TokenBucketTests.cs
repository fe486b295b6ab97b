using EvalMesh.Inference.Endpoints;
using Microsoft.Extensions.Time.Testing;

namespace EvalMesh.Inference.Tests;

public sealed class TokenBucketTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void Grant_RefillsAtItsRate_UpToOneBurstsWorth()
    {
        var bucket = new TokenBucket(_time);
        bucket.Grant(10, _time.GetTimestamp());
        Assert.Equal(0, bucket.Level);

        _time.Advance(TimeSpan.FromMilliseconds(500));
        Assert.Equal(5, bucket.Level, 6);

        // Saving up stops at a burst's worth (one second of the rate), however long it waits.
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(10 * TokenBucket.Burst.TotalSeconds, bucket.Level, 6);
    }

    [Fact]
    public void TryTake_FailsUntilTheBucketHoldsIt_AndWaitForSaysHowLong()
    {
        var bucket = new TokenBucket(_time);
        bucket.Grant(4, _time.GetTimestamp());
        Assert.False(bucket.TryTake(1));
        Assert.Equal(TimeSpan.FromMilliseconds(250), bucket.WaitFor(1));

        _time.Advance(TimeSpan.FromMilliseconds(250));
        Assert.Equal(TimeSpan.Zero, bucket.WaitFor(1));
        Assert.True(bucket.TryTake(1));
        Assert.False(bucket.TryTake(1));
    }

    [Fact]
    public void AtARateOfZero_NothingIsTaken_AndTheWaitIsInfinite()
    {
        var bucket = new TokenBucket(_time);
        bucket.Grant(0, _time.GetTimestamp());
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.False(bucket.TryTake(0.001));
        Assert.Equal(Timeout.InfiniteTimeSpan, bucket.WaitFor(1));
    }

    [Fact]
    public void ALowerRate_CountsFromWhenItWasAskedFor_NotFromTheAnswer()
    {
        var bucket = new TokenBucket(_time);
        bucket.Grant(10, _time.GetTimestamp());
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(bucket.TryTake(10));

        // Asked at t, answered 200 ms later with 2/s: those 200 ms accrued 2/s, not 10/s (the authority counted 2/s).
        var asked = _time.GetTimestamp();
        _time.Advance(TimeSpan.FromMilliseconds(200));
        bucket.Grant(2, asked);
        Assert.Equal(0.4, bucket.Level, 6);
    }

    [Fact]
    public void AHigherRate_CountsFromTheAnswer()
    {
        var bucket = new TokenBucket(_time);
        bucket.Grant(2, _time.GetTimestamp());
        var asked = _time.GetTimestamp();
        _time.Advance(TimeSpan.FromMilliseconds(200));
        bucket.Grant(10, asked);
        Assert.Equal(0.4, bucket.Level, 6);
        _time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Equal(1.4, bucket.Level, 6);
    }

    [Fact]
    public void ATakeBiggerThanTheBucket_WaitsForAFullBucket_AndLeavesItInDebt()
    {
        var bucket = new TokenBucket(_time);
        bucket.Grant(100, _time.GetTimestamp());
        Assert.Equal(TimeSpan.FromSeconds(1), bucket.WaitFor(250));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(bucket.TryTake(250));
        Assert.Equal(-150, bucket.Level, 6);

        // The debt is repaid before anything else goes.
        Assert.Equal(TimeSpan.FromSeconds(1.51), bucket.WaitFor(1));
    }

    [Fact]
    public void Expire_DropsWhatWasSavedUp_ButKeepsADebt()
    {
        var bucket = new TokenBucket(_time);
        bucket.Grant(10, _time.GetTimestamp());
        _time.Advance(TimeSpan.FromSeconds(1));
        bucket.Expire();
        Assert.Equal(0, bucket.Level);

        bucket.Grant(10, _time.GetTimestamp());
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(bucket.TryTake(30));
        bucket.Expire();
        Assert.Equal(-20, bucket.Level, 6);
    }

    [Fact]
    public void Settle_GivesBackAnEstimatesUnusedTokens_UpToAFullBucket_AndChargesMoreUsed()
    {
        var bucket = new TokenBucket(_time);
        bucket.Grant(100, _time.GetTimestamp());
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(bucket.TryTake(60));
        bucket.Settle(estimated: 60, actual: 20);
        Assert.Equal(80, bucket.Level, 6);
        bucket.Settle(estimated: 60, actual: 10);
        Assert.Equal(100, bucket.Level, 6);
        bucket.Settle(estimated: 10, actual: 150);
        Assert.Equal(-40, bucket.Level, 6);
    }
}
