using EvalMesh.Abstractions;
using EvalMesh.Client;
using EvalMesh.Evaluation;
using EvalMesh.Grains.Storage;
using EvalMesh.Inference.Endpoints;
using EvalMesh.Inference.Gguf;
using EvalMesh.Inference.Llama;
using EvalMesh.Training;

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
        catch (TrainingException ex)
        {
            return Fail(ex.Message, ex.Problem is TrainingProblem.OutputFailed or TrainingProblem.OutOfMemory ? ExitCodes.Unavailable : ExitCodes.BadInput);
        }
        catch (UnknownNameException ex)
        {
            return Fail(ex.Message, ExitCodes.BadInput);
        }
        catch (GgufException ex)
        {
            return Fail(ex.Message, ExitCodes.BadInput);
        }
        catch (InferenceException ex) when (ex.Problem == InferenceProblem.ContextOverflow)
        {
            return Fail(ex.Message, ExitCodes.BadInput);
        }
        catch (InferenceException ex)
        {
            return Fail(ex.Message, ExitCodes.Unavailable);
        }
        catch (EndpointException ex)
        {
            return Fail(ex.Message, ex.Problem == EndpointProblem.Rejected ? ExitCodes.BadInput : ExitCodes.Unavailable);
        }
        catch (RunFailedException ex)
        {
            return Fail(ex.Message, ExitCodes.Unavailable);
        }
        catch (RunNotFoundException ex)
        {
            return Fail(ex.Message, ExitCodes.BadInput);
        }
        catch (Exception ex) when (ex is AdapterRejectedException or RunRejectedException)
        {
            return Fail(ex.Message, ExitCodes.BadInput);
        }
        catch (TrainingJobNotFoundException ex)
        {
            // Its silo died (a job's progress lives in memory there): the loop can be started again.
            return Fail(ex.Message, ExitCodes.Unavailable);
        }
        catch (EvalMeshServerException ex)
        {
            // A key without the scope, a body over the limit, a wrong key: the user's to fix. A silo that fails is not.
            return Fail(ex.Message, ex.Status is >= 400 and < 500 and not 429 ? ExitCodes.BadInput : ExitCodes.Unavailable);
        }
        catch (HttpRequestException ex)
        {
            return Fail($"the server is unavailable: {ex.Message}", ExitCodes.Unavailable);
        }
        catch (Microsoft.Extensions.Options.OptionsValidationException ex)
        {
            return Fail(string.Join("; ", ex.Failures), ExitCodes.BadInput);
        }
        catch (Exception ex) when (Cause<StoredStateException>(ex) is { } unreadable)
        {
            return Fail(unreadable.Message, ExitCodes.Unavailable);
        }
        catch (Exception ex) when (ex is OrleansException or SiloUnavailableException or TimeoutException or StackExchange.Redis.RedisConnectionException)
        {
            // Orleans puts the inner exceptions' stack traces into its messages; the first line says what went wrong.
            return Fail($"the cluster is unavailable: {ex.Message.Split('\n')[0].Trim()}", ExitCodes.Unavailable);
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

    private static T? Cause<T>(Exception? exception)
        where T : Exception
    {
        for (; exception is not null; exception = exception.InnerException)
        {
            if (exception is T cause)
            {
                return cause;
            }
        }

        return null;
    }

    private static int Fail(string message, int code)
    {
        Console.Error.WriteLine($"evalmesh: error: {message}");
        return code;
    }
}
