using EvalMesh.Training.Model;
using EvalMesh.Training.Optimization;

namespace EvalMesh.Training;

/// <summary>What one optimizer step did.</summary>
/// <param name="Loss">Mean cross-entropy over the batch's scored tokens.</param>
/// <param name="Tokens">Input tokens of the batch.</param>
/// <param name="GradientNorm">The global gradient norm before clipping.</param>
internal readonly record struct StepResult(double Loss, long Tokens, double GradientNorm);

/// <summary>
/// The optimizer loop's inner part: a batch's sequences run forward and backward on several threads, each with its
/// own workspace and gradient accumulator; the accumulators are summed in a fixed order, clipped, and AdamW updates
/// the trainable tensors (the LoRA factors, or every weight). Sequences go to threads by a deterministic balance of
/// their cost, so the same batch on the same number of threads always gives the same update.
/// </summary>
internal sealed class TrainingSession
{
    private readonly Transformer<float> _transformer;
    private readonly bool _full;
    private readonly Worker[] _workers;
    private readonly AdamW<float> _optimizer;

    public TrainingSession(Transformer<float> transformer, ModelWeights<float> weights, LoraWeights<float>? lora, int threads, int capacity, AdamWSettings settings)
    {
        ArgumentNullException.ThrowIfNull(transformer);
        ArgumentNullException.ThrowIfNull(weights);
        _transformer = transformer;
        _full = lora is null;
        _workers = new Worker[Math.Max(1, threads)];
        for (var w = 0; w < _workers.Length; w++)
        {
            var workspace = new Workspace<float>(weights.Config, lora?.Rank ?? 0, capacity);
            _workers[w] = lora is null
                ? new Worker(workspace, ModelWeights<float>.Zeros(weights.Config), null)
                : new Worker(workspace, null, LoraWeights<float>.ZerosLike(lora));
        }

        var parameters = lora is null ? weights.Tensors().ToList() : lora.Tensors().ToList();
        _optimizer = new AdamW<float>(parameters, settings);
    }

    /// <summary>One optimizer step on a batch.</summary>
    public StepResult Step(IReadOnlyList<TokenSequence> batch, double learningRate, double maxGradientNorm, CancellationToken cancellationToken)
    {
        var scored = batch.Sum(s => (long)s.ScoredTokens);
        var scale = (float)(1.0 / scored);
        var losses = Run(batch, (worker, sequence) => _transformer.LossAndGradients(sequence, worker.Workspace, scale, worker.ModelGradients, worker.LoraGradients), cancellationToken);

        var total = _workers[0].Gradients;
        for (var w = 1; w < _workers.Length; w++)
        {
            Gradients.AddTo(_workers[w].Gradients, total);
        }

        var norm = Gradients.ClipByGlobalNorm(total, maxGradientNorm);
        if (double.IsFinite(norm))
        {
            _optimizer.Step(total, learningRate);
            _transformer.Refresh(baseChanged: _full);
        }

        foreach (var worker in _workers)
        {
            Gradients.Clear(worker.Gradients);
        }

        return new StepResult(losses / scored, batch.Sum(s => (long)s.InputLength), norm);
    }

    /// <summary>The mean cross-entropy over the scored tokens of <paramref name="sequences"/> (no update).</summary>
    public double Evaluate(IReadOnlyList<TokenSequence> sequences, CancellationToken cancellationToken)
    {
        var scored = sequences.Sum(s => (long)s.ScoredTokens);
        return Run(sequences, (worker, sequence) => _transformer.Loss(sequence, worker.Workspace), cancellationToken) / scored;
    }

    private double Run(IReadOnlyList<TokenSequence> sequences, Func<Worker, TokenSequence, double> run, CancellationToken cancellationToken)
    {
        var shares = Partition(sequences, _workers.Length);
        var losses = new double[shares.Length];
        var options = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, shares.Length), CancellationToken = cancellationToken };
        try
        {
            Parallel.For(0, shares.Length, options, w =>
            {
                foreach (var sequence in shares[w])
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    losses[w] += run(_workers[w], sequence);
                }
            });
        }
        catch (AggregateException ex) when (ex.InnerExceptions.Count > 0)
        {
            // What a worker threw (cancellation, out of memory) as if it had been thrown here, so callers see it as such.
            var inner = ex.InnerExceptions.FirstOrDefault(e => e is not OperationCanceledException) ?? ex.InnerExceptions[0];
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(inner).Throw();
        }

        return losses.Sum();
    }

    // Longest first, each to the thread with the least work so far (ties to the lower index): deterministic, and
    // balanced by a cost that counts the attention's quadratic part.
    private static List<TokenSequence>[] Partition(IReadOnlyList<TokenSequence> sequences, int threads)
    {
        var shares = new List<TokenSequence>[Math.Min(threads, sequences.Count)];
        var load = new long[shares.Length];
        for (var w = 0; w < shares.Length; w++)
        {
            shares[w] = [];
        }

        var order = Enumerable.Range(0, sequences.Count).OrderByDescending(i => Cost(sequences[i])).ThenBy(i => i);
        foreach (var i in order)
        {
            var least = 0;
            for (var w = 1; w < load.Length; w++)
            {
                least = load[w] < load[least] ? w : least;
            }

            shares[least].Add(sequences[i]);
            load[least] += Cost(sequences[i]);
        }

        return shares;
    }

    private static long Cost(TokenSequence sequence) => (long)sequence.InputLength * (sequence.InputLength + 512);

    private sealed class Worker(Workspace<float> workspace, ModelWeights<float>? modelGradients, LoraWeights<float>? loraGradients)
    {
        public Workspace<float> Workspace { get; } = workspace;

        public ModelWeights<float>? ModelGradients { get; } = modelGradients;

        public LoraWeights<float>? LoraGradients { get; } = loraGradients;

        public IReadOnlyList<NamedTensor<float>> Gradients { get; } = modelGradients?.Tensors().ToList() ?? loraGradients!.Tensors().ToList();
    }
}
