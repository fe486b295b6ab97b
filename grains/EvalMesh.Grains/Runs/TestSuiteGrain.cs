using EvalMesh.Abstractions;

namespace EvalMesh.Grains.Runs;

/// <summary>Persisted state of a test-suite grain.</summary>
[GenerateSerializer, Alias("evalmesh.suite-state")]
public sealed class TestSuiteState
{
    /// <summary>The suite's name.</summary>
    [Id(0)] public string? Name { get; set; }

    /// <summary>The cases as JSON.</summary>
    [Id(1)] public string? CasesJson { get; set; }
}

/// <summary>A content-addressed list of test cases.</summary>
public sealed class TestSuiteGrain([PersistentState("suite", EvalMeshSilo.StorageName)] IPersistentState<TestSuiteState> state) : Grain, ITestSuiteGrain
{
    /// <inheritdoc />
    public async Task PutAsync(string name, string casesJson)
    {
        if (state.State.CasesJson is not null)
        {
            return;
        }

        if (ContentId.Of(casesJson) != this.GetPrimaryKeyString())
        {
            throw new ArgumentException($"suite '{name}' does not hash to this grain's key {this.GetPrimaryKeyString()}");
        }

        state.State.Name = name;
        state.State.CasesJson = casesJson;
        await state.WriteStateAsync();
    }

    /// <inheritdoc />
    public Task<bool> HasCasesAsync() => Task.FromResult(state.State.CasesJson is not null);

    /// <inheritdoc />
    public Task<string> GetCasesJsonAsync() =>
        Task.FromResult(state.State.CasesJson ?? throw new InvalidOperationException($"suite {this.GetPrimaryKeyString()} has no cases"));
}
