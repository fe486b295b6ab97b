using EvalMesh.Abstractions;
using EvalMesh.Inference.Endpoints;

namespace EvalMesh.Inference.Tests;

public sealed class EndpointCircuitTests
{
    private static readonly TimeSpan Break = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);
    private readonly DateTimeOffset _start = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void EightAttemptsHalfFailed_OpenIt_ForTheBreak_ThenItIsHalfOpen()
    {
        var circuit = new EndpointCircuit();
        circuit.Record(successes: 3, failures: 3, Break, _start);
        Assert.Equal(CircuitState.Closed, circuit.StateAt(_start));

        // Another silo's evidence adds to the first's.
        circuit.Record(successes: 1, failures: 1, Break, _start.AddSeconds(1));
        Assert.Equal(CircuitState.Open, circuit.StateAt(_start.AddSeconds(1)));
        Assert.Equal(TimeSpan.FromSeconds(3), circuit.OpenFor(_start.AddSeconds(3)));
        Assert.Equal(CircuitState.HalfOpen, circuit.StateAt(_start.AddSeconds(6)));
        Assert.Equal(1, circuit.Opened);
    }

    [Fact]
    public void FewerThanEightAttempts_OrLessThanHalfFailed_KeepItClosed()
    {
        var circuit = new EndpointCircuit();
        circuit.Record(successes: 0, failures: 7, Break, _start);
        Assert.Equal(CircuitState.Closed, circuit.StateAt(_start));
        circuit.Record(successes: 30, failures: 0, Break, _start);
        circuit.Record(successes: 0, failures: 22, Break, _start);
        Assert.Equal(CircuitState.Closed, circuit.StateAt(_start));
    }

    [Fact]
    public void EvidenceOlderThanTheSamplingWindow_NoLongerCounts()
    {
        var circuit = new EndpointCircuit();
        circuit.Record(successes: 0, failures: 7, Break, _start);
        circuit.Record(successes: 0, failures: 1, Break, _start + EndpointCircuit.Sampling + TimeSpan.FromSeconds(1));
        Assert.Equal(CircuitState.Closed, circuit.StateAt(_start + EndpointCircuit.Sampling + TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void HalfOpen_GrantsOneProbeClusterWide_UntilItsTimeoutOrItsHolderIsGone()
    {
        var circuit = Opened(out var halfOpen);
        Assert.False(circuit.TryProbe("a", ProbeTimeout, halfOpen.AddSeconds(-1)));
        Assert.True(circuit.TryProbe("a", ProbeTimeout, halfOpen));
        Assert.False(circuit.TryProbe("b", ProbeTimeout, halfOpen));
        Assert.True(circuit.IsProbing("a", halfOpen));

        // The probe's holder never answered: after its timeout another may probe.
        Assert.True(circuit.TryProbe("b", ProbeTimeout, halfOpen + ProbeTimeout));
        Assert.False(circuit.TryProbe("c", ProbeTimeout, halfOpen + ProbeTimeout));

        // Its holder died: the probe is free at once.
        circuit.Forget("b");
        Assert.True(circuit.TryProbe("c", ProbeTimeout, halfOpen + ProbeTimeout));
    }

    [Fact]
    public void TheProbesSuccess_ClosesIt_AndItsFailure_OpensItAgain()
    {
        var circuit = Opened(out var halfOpen);
        Assert.True(circuit.TryProbe("a", ProbeTimeout, halfOpen));
        circuit.ProbeEnded("a", succeeded: false, Break, halfOpen.AddSeconds(1));
        Assert.Equal(CircuitState.Open, circuit.StateAt(halfOpen.AddSeconds(1)));
        Assert.Equal(2, circuit.Opened);

        var again = halfOpen.AddSeconds(1) + Break;
        Assert.True(circuit.TryProbe("b", ProbeTimeout, again));

        // Only the probe's holder can end it.
        circuit.ProbeEnded("a", succeeded: true, Break, again);
        Assert.Equal(CircuitState.HalfOpen, circuit.StateAt(again));
        circuit.ProbeEnded("b", succeeded: true, Break, again);
        Assert.Equal(CircuitState.Closed, circuit.StateAt(again));

        // Closing forgets the evidence that opened it.
        circuit.Record(successes: 0, failures: 7, Break, again);
        Assert.Equal(CircuitState.Closed, circuit.StateAt(again));
    }

    private EndpointCircuit Opened(out DateTimeOffset halfOpen)
    {
        var circuit = new EndpointCircuit();
        circuit.Record(successes: 0, failures: 8, Break, _start);
        halfOpen = _start + Break;
        return circuit;
    }
}
