using EvalMesh.Evaluation.Configuration;
using EvalMesh.Evaluation.Formats;
using EvalMesh.Evaluation.Generation;
using EvalMesh.Training.Data;
using EvalMesh.Training.Recipes;

namespace EvalMesh.Training.Tests;

public sealed class TinyRecipeTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("evalmesh-recipe-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void PromptTemplate_IsTheSeedExperimentsTemplate()
    {
        var config = ConfigLoader.Load(Path.Combine(RepositoryRoot(), "client", "examples", "slack-formats.yaml"));
        Assert.Equal(TinyRecipe.PromptTemplate, config.Prompt);
    }

    [Fact]
    public void Examples_AreBuiltAsARunBuildsThem()
    {
        var recipe = new TinyRecipe();
        var data = SlackGenerator.Generate(new SlackGeneratorOptions(recipe.Messages, 1000, 3, RecordsPerCase: recipe.RecordsPerCase));
        var examples = recipe.Examples(1000, i => [recipe.Formats[i % recipe.Formats.Count]], SlackGenerator.Categories, 3, recipe.RecordsPerCase).ToList();
        Assert.Equal(data.Suite.Cases.Count, examples.Count);
        Assert.Equal(recipe.Formats.Order(), examples.Select(e => e.Format).Distinct().Order());
        foreach (var (example, testCase) in examples.Zip(data.Suite.Cases))
        {
            // The records of the case only, in dataset order, rendered by the format: the question's own context.
            var context = RecordFormats.Get(example.Format).Render([.. testCase.Records!.Select(r => data.Messages[r - 1])]);
            var expected = PromptTemplate.Compile(TinyRecipe.PromptTemplate, example.Format, context: null).For(testCase.Question, context);
            Assert.Equal(expected, example.Prompt);
            Assert.Equal(string.Join('\n', testCase.Expected), example.Answer);
        }
    }

    [Fact]
    public void Seeds_HeldOutSeedsAreNeverTrainedOn()
    {
        var recipe = new TinyRecipe();
        var trained = Enumerable.Range(recipe.FirstSeed, recipe.Stages.Sum(s => s.Seeds) + recipe.Adapters.Sum(a => a.Seeds))
            .Concat(Enumerable.Range(recipe.Shape.CorpusSeed, recipe.Shape.CorpusSeeds))
            .ToHashSet();
        Assert.Contains(7, TinyRecipe.HeldOutSeeds);
        Assert.Empty(trained.Intersect(TinyRecipe.HeldOutSeeds));
        Assert.Subset(TinyRecipe.HeldOutSeeds.ToHashSet(), recipe.ValidationSeeds.ToHashSet());
    }

    [Fact]
    public async Task TrainAsync_AShortRunOfTheRecipe_LowersTheLossAndWritesAModelAndAdapter_ByteForByteAgain()
    {
        // The recipe as it is, made small enough to take seconds: a smaller model and vocabulary, a few datasets.
        var recipe = new TinyRecipe() with
        {
            Shape = new TinyRecipe().Shape with { Embedding = 32, Blocks = 1, Heads = 2, FeedForward = 64, VocabularySize = 1024, CorpusSeeds = 1 },
            Stages = [new("copy", Seeds: 6, ["index"], RecordsPerCase: 1, CasesPerCategory: 4), new("task", Seeds: 6, ["index", "thread"], RecordsPerCase: 4, CasesPerCategory: 2)],
            ValidationSeeds = [100],
            BatchSize = 4,
            LearningRate = 1e-2f,
            Threads = 2,
            Adapters = [new TinyAdapterRecipe("adapter-1", ["csv"], 1) { Training = new() { Epochs = 1, LearningRate = 2e-3f, BatchSize = 4 } }],
        };
        var result = await TinyTraining.TrainAsync(recipe, Path.Combine(_folder, "first"), cancellationToken: TestContext.Current.CancellationToken);

        var (first, last) = (result.Stages[0], result.Stages[^1]);
        Assert.True(last.FinalValidationLoss < first.InitialValidationLoss - 0.5, $"validation loss {first.InitialValidationLoss} → {last.FinalValidationLoss}");
        Assert.True(last.Curve[^1].TrainLoss < first.Curve[0].TrainLoss - 1, $"training loss {first.Curve[0].TrainLoss} → {last.Curve[^1].TrainLoss}");
        var model = Inference.Gguf.GgufValidator.ValidateModel(result.Files.Model);
        Assert.StartsWith("trained-", model.Fingerprint, StringComparison.Ordinal);
        Inference.Gguf.GgufValidator.ValidateAdapter(Assert.Single(result.Files.Adapters), model);

        // The same recipe, seed and thread count give the same files.
        var again = await TinyTraining.TrainAsync(recipe, Path.Combine(_folder, "again"), cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(File.ReadAllBytes(result.Files.Model), File.ReadAllBytes(again.Files.Model));
        Assert.Equal(File.ReadAllBytes(result.Files.Adapters[0]), File.ReadAllBytes(again.Files.Adapters[0]));
    }

    [Fact]
    public void WriteJsonl_IsReadBackAsTheSameChatExamples()
    {
        var recipe = new TinyRecipe();
        var examples = recipe.Examples(1000, _ => ["csv"], SlackGenerator.Categories, 1, 2).ToList();
        var path = Path.Combine(_folder, "examples.jsonl");
        TinyRecipe.WriteJsonl(path, examples);

        var read = ChatJsonl.Read(path, TestContext.Current.CancellationToken);
        Assert.Equal(examples.Select(e => e.Answer), read.Select(r => r.Answer));
        Assert.Equal(examples.Select(e => e.Prompt.Text), read.Select(r => Assert.Single(r.Prompt).Text));
        Assert.All(read, r => Assert.Equal(Microsoft.Extensions.AI.ChatRole.User, r.Prompt[0].Role));
    }

    private static string RepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "EvalMesh.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException("EvalMesh.sln not found above " + AppContext.BaseDirectory);
    }
}
