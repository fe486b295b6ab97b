using System.CommandLine;

namespace EvalMesh.Cli;

/// <summary>The training settings <c>train</c> and <c>finetune</c> share, with the trainer's defaults.</summary>
internal sealed class TrainingArguments
{
    public Option<int> Rank { get; } = new("--rank") { Description = "LoRA rank.", DefaultValueFactory = _ => 8 };

    public Option<float> Alpha { get; } = new("--alpha") { Description = "LoRA alpha (the update is scaled by alpha / rank).", DefaultValueFactory = _ => 16 };

    public Option<int> Epochs { get; } = new("--epochs") { Description = "Passes over the training examples.", DefaultValueFactory = _ => 3 };

    public Option<float> LearningRate { get; } = new("--learning-rate") { Description = "AdamW's peak learning rate.", DefaultValueFactory = _ => 1e-3f };

    public Option<int> BatchSize { get; } = new("--batch-size") { Description = "Examples per optimizer step.", DefaultValueFactory = _ => 8 };

    public Option<int> Seed { get; } = new("--seed") { Description = "Seeds the adapter's start and the order of examples (and finetune's held-out split)." };

    public void AddTo(Command command)
    {
        command.Options.Add(Rank);
        command.Options.Add(Alpha);
        command.Options.Add(Epochs);
        command.Options.Add(LearningRate);
        command.Options.Add(BatchSize);
        command.Options.Add(Seed);
    }
}
