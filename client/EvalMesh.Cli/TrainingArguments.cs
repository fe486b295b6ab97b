using System.CommandLine;
using EvalMesh.Abstractions;

namespace EvalMesh.Cli;

/// <summary>The training settings <c>train</c> and <c>finetune</c> share, with <see cref="TrainingSettings"/>' defaults.</summary>
internal sealed class TrainingArguments
{
    private static readonly TrainingSettings Defaults = new();

    public Option<int> Rank { get; } = new("--rank") { Description = "LoRA rank.", DefaultValueFactory = _ => Defaults.Rank };

    public Option<float> Alpha { get; } = new("--alpha") { Description = "LoRA alpha (the update is scaled by alpha / rank).", DefaultValueFactory = _ => Defaults.Alpha };

    public Option<int> Epochs { get; } = new("--epochs") { Description = "Passes over the training examples.", DefaultValueFactory = _ => Defaults.Epochs };

    public Option<float> LearningRate { get; } = new("--learning-rate") { Description = "AdamW's peak learning rate.", DefaultValueFactory = _ => Defaults.LearningRate };

    public Option<int> BatchSize { get; } = new("--batch-size") { Description = "Examples per optimizer step.", DefaultValueFactory = _ => Defaults.BatchSize };

    public Option<int> Seed { get; } = new("--seed") { Description = "Seeds the adapter's start and the order of examples (and finetune's held-out split).", DefaultValueFactory = _ => Defaults.Seed };

    public Option<int> MaxSequenceLength { get; } = new("--max-sequence-length") { Description = "Examples with more tokens than this (prompt and answer) are skipped and counted.", DefaultValueFactory = _ => Defaults.MaxSequenceLength };

    public void AddTo(Command command)
    {
        command.Options.Add(Rank);
        command.Options.Add(Alpha);
        command.Options.Add(Epochs);
        command.Options.Add(LearningRate);
        command.Options.Add(BatchSize);
        command.Options.Add(Seed);
        command.Options.Add(MaxSequenceLength);
    }

    /// <summary>The settings the command line gives.</summary>
    public TrainingSettings Read(ParseResult parse) => new()
    {
        Rank = parse.GetValue(Rank),
        Alpha = parse.GetValue(Alpha),
        Epochs = parse.GetValue(Epochs),
        LearningRate = parse.GetValue(LearningRate),
        BatchSize = parse.GetValue(BatchSize),
        Seed = parse.GetValue(Seed),
        MaxSequenceLength = parse.GetValue(MaxSequenceLength),
    };
}
