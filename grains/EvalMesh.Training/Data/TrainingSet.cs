using EvalMesh.Training.Model;
using Microsoft.Extensions.AI;

namespace EvalMesh.Training.Data;

/// <summary>The examples of one file as token sequences, with those that were too long counted.</summary>
/// <param name="Path">The file.</param>
/// <param name="Sequences">The usable examples, in file order.</param>
/// <param name="Skipped">Examples longer than the maximum sequence length.</param>
internal sealed record TrainingSet(string Path, IReadOnlyList<TokenSequence> Sequences, int Skipped)
{
    /// <summary>Tokens the model reads over one pass.</summary>
    public long InputTokens => Sequences.Sum(s => (long)s.InputLength);

    /// <summary>The longest sequence's input length.</summary>
    public int LongestInput => Sequences.Count == 0 ? 0 : Sequences.Max(s => s.InputLength);

    /// <summary>Reads and tokenizes a JSONL file.</summary>
    /// <exception cref="TrainingException">The file is missing, malformed, or has no example that fits.</exception>
    public static TrainingSet Load(string path, TrainingVocabulary vocabulary, Func<IReadOnlyList<ChatMessage>, string> render, int maxSequenceLength, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        ArgumentNullException.ThrowIfNull(render);
        var examples = ChatJsonl.Read(path, cancellationToken);
        if (examples.Count == 0)
        {
            throw new TrainingException(path, TrainingProblem.NoUsableExamples, "the file has no examples");
        }

        var sequences = new List<TokenSequence>(examples.Count);
        var skipped = 0;
        var longest = 0;
        foreach (var example in examples)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var prompt = render(example.Prompt);
            var sequence = vocabulary.Sequence(prompt, example.Answer);
            longest = Math.Max(longest, sequence.Tokens.Length);

            // A prompt without tokens (no BOS, empty text) leaves the first answer token nothing to be predicted from.
            if (sequence.Tokens.Length > maxSequenceLength || sequence.AnswerStart < 1)
            {
                skipped++;
                continue;
            }

            sequences.Add(sequence);
        }

        if (sequences.Count == 0)
        {
            throw new TrainingException(path, TrainingProblem.NoUsableExamples,
                $"all {examples.Count} examples are longer than the maximum sequence length of {maxSequenceLength} tokens (the longest has {longest})");
        }

        return new TrainingSet(path, sequences, skipped);
    }
}
