using EvalMesh.Evaluation;

namespace EvalMesh.Cli;

/// <summary>Runs a verb's body and turns user mistakes into one clear line on stderr and a meaningful exit code.</summary>
internal static class CliAction
{
    public static async Task<int> RunAsync(Func<Task<int>> body)
    {
        try
        {
            return await body();
        }
        catch (EvalMeshInputException ex)
        {
            return Fail(ex.Message, ExitCodes.BadInput);
        }
        catch (UnknownNameException ex)
        {
            return Fail(ex.Message, ExitCodes.BadInput);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Fail(ex.Message, ExitCodes.Unavailable);
        }
        catch (OperationCanceledException)
        {
            return Fail("cancelled", ExitCodes.Unavailable);
        }
    }

    public static Task<int> Run(Func<int> body) => RunAsync(() => Task.FromResult(body()));

    private static int Fail(string message, int code)
    {
        Console.Error.WriteLine($"evalmesh: error: {message}");
        return code;
    }
}
