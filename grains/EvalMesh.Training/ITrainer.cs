namespace EvalMesh.Training;

/// <summary>
/// Trains an adapter (or a whole model) from chat examples. The contract every implementation keeps, so that the
/// fine-tuning loop does not care which one runs (the built-in CPU trainer here; an external one on a GPU node, such
/// as llama.cpp's <c>llama-finetune</c> or a PEFT script followed by llama.cpp's LoRA converter):
/// <list type="bullet">
/// <item>In: <see cref="TrainingJob.BaseModel"/>, a GGUF model; <see cref="TrainingJob.TrainingData"/> (and
/// optionally <see cref="TrainingJob.ValidationData"/>), JSONL in the OpenAI chat fine-tuning format that
/// <c>evalmesh export-finetune</c> writes. The prompt is every message before the last, rendered to text as inference
/// renders it; the last message is the assistant's answer. Tokens are the model's own: the prompt with BOS as
/// inference adds it, then the answer, then end-of-sequence. Loss is on the answer and end-of-sequence tokens only.</item>
/// <item>Out, in <see cref="TrainingMode.Lora"/>: <see cref="TrainingJob.Output"/>, a LoRA adapter GGUF that
/// <c>GgufValidator.ValidateAdapter</c> accepts for the base: <c>general.type=adapter</c>, <c>adapter.type=lora</c>,
/// <c>adapter.lora.alpha</c>, <c>evalmesh.base_fingerprint</c> = the base's <c>evalmesh.fingerprint</c>, tensors
/// <c>blk.N.&lt;target&gt;.weight.lora_a</c> ne=[n_in, rank] and <c>.lora_b</c> ne=[rank, n_out], all F32. In
/// <see cref="TrainingMode.Full"/>: a complete model GGUF with the base's metadata and vocabulary and a new
/// <c>evalmesh.fingerprint</c>.</item>
/// <item>The output appears whole or not at all: it is written under a temporary name and moved into place, so a
/// failure or cancellation never leaves a half-written file (and leaves an existing file at that path untouched).</item>
/// <item>A user's mistake (a missing or malformed file, an unsupported base, a setting out of range) is a
/// <see cref="TrainingException"/> whose message is one line naming the file and the problem; cancellation is an
/// <see cref="OperationCanceledException"/>.</item>
/// <item>Progress is reported after every optimizer step; the result carries the loss curve.</item>
/// </list>
/// </summary>
public interface ITrainer
{
    /// <summary>A short name for logs and metrics, such as <c>built-in</c>.</summary>
    string Name { get; }

    /// <summary>Runs a training job to its end and writes its output.</summary>
    /// <param name="job">What to train.</param>
    /// <param name="progress">Told after every optimizer step and every validation.</param>
    /// <param name="cancellationToken">Stops the job between steps; nothing is written then.</param>
    /// <returns>The loss curve and figures of the job.</returns>
    /// <exception cref="TrainingException">The job cannot run or its output cannot be written.</exception>
    /// <exception cref="OperationCanceledException">The job was cancelled.</exception>
    Task<TrainingResult> TrainAsync(TrainingJob job, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default);
}
