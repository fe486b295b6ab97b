using System.Security.Cryptography;
using System.Text;
using EvalMesh.Evaluation;
using EvalMesh.Evaluation.Configuration;
using EvalMesh.Evaluation.Formats;
using EvalMesh.Evaluation.Generation;
using EvalMesh.Inference.Gguf;

namespace EvalMesh.Inference.Tiny;

/// <summary>The shape of a generated tiny llama model.</summary>
/// <param name="Embedding">n_embd.</param>
/// <param name="Blocks">Number of transformer blocks.</param>
/// <param name="Heads">Attention heads (and KV heads).</param>
/// <param name="FeedForward">n_ff.</param>
/// <param name="ContextLength">The context length the model declares it was trained for.</param>
/// <param name="VocabularySize">Vocabulary size, learnt from a Slack-style corpus.</param>
/// <param name="DigitRun">The most digits in a row one vocabulary piece may hold (0: no limit; 1: digits split, as LLaMA's tokenizer does).</param>
/// <param name="CorpusSeed">The first generator seed of the Slack-style corpus the vocabulary is learnt from.</param>
/// <param name="CorpusSeeds">How many consecutive seeds' data the corpus has.</param>
/// <param name="TiedOutput">Whether the output layer is the token embedding (no <c>output.weight</c>).</param>
public sealed record TinyModelShape(int Embedding = 64, int Blocks = 2, int Heads = 4, int FeedForward = 128, int ContextLength = 32768, int VocabularySize = 4096, int DigitRun = 0, int CorpusSeed = 7, int CorpusSeeds = 1, bool TiedOutput = false)
{
    // The identity that fingerprints a generated model; the original six settings read as they always did.
    internal string Identity => DigitRun != 0 || CorpusSeed != 7 || CorpusSeeds != 1 || TiedOutput
        ? ToString()
        : $"TinyModelShape {{ Embedding = {Embedding}, Blocks = {Blocks}, Heads = {Heads}, FeedForward = {FeedForward}, ContextLength = {ContextLength}, VocabularySize = {VocabularySize} }}";
}

/// <summary>The files <see cref="TinyModel.Write"/> produced.</summary>
/// <param name="Model">The base model file.</param>
/// <param name="Adapters">The adapter files, adapter-1 first.</param>
public sealed record TinyModelFiles(string Model, IReadOnlyList<string> Adapters);

/// <summary>
/// The built-in tiny models. <see cref="Write"/> writes a llama-architecture GGUF model with random, seeded weights and a
/// SentencePiece vocabulary with byte fallback, plus LoRA adapters for it: the smoke model. No weights can be
/// downloaded here, so tests, benchmarks and the offline demo run real llama.cpp on generated and trained models. The
/// same seed and shape give byte-identical files. <see cref="WriteInitial"/> writes the starting point of the trained
/// model's recipe (<c>evalmesh models train-tiny</c>), whose result ships with EvalMesh (<see cref="WriteTrained"/>).
/// </summary>
public static class TinyModel
{
    /// <summary>The base model's file name.</summary>
    public const string ModelFileName = "tiny-llama.gguf";

    /// <summary>The metadata key that identifies a generated base model, and that its adapters name.</summary>
    public const string FingerprintKey = "evalmesh.fingerprint";

    /// <summary>The metadata key under which an adapter names the fingerprint of its base model.</summary>
    public const string BaseFingerprintKey = "evalmesh.base_fingerprint";

    private static readonly string[] Targets = ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"];

    /// <summary>The file name of adapter <paramref name="index"/> (1-based).</summary>
    public static string AdapterFileName(int index) => $"adapter-{index}.gguf";

    /// <summary>
    /// Writes the model and <paramref name="adapters"/> adapters into <paramref name="folder"/>; with <paramref name="chatTemplate"/> (a llama.cpp template name) the model carries it as its own
    /// (<c>tokenizer.chat_template</c>), as real instruct models do.
    /// </summary>
    public static TinyModelFiles Write(string folder, int seed = 42, int adapters = 2, TinyModelShape? shape = null, string? chatTemplate = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(adapters);
        shape ??= new TinyModelShape();
        Directory.CreateDirectory(folder);
        var vocabulary = SentencePieceVocabulary.Train(Corpus(shape.CorpusSeed, shape.CorpusSeeds), shape.VocabularySize, shape.DigitRun);
        var fingerprint = Fingerprint(seed, shape, vocabulary);
        var model = Path.Combine(folder, ModelFileName);
        AtomicFile.Write(model, path => WriteModel(path, seed, shape, vocabulary, fingerprint, SpreadScales, chatTemplate));
        var adapterFiles = new List<string>();
        for (var i = 1; i <= adapters; i++)
        {
            var file = Path.Combine(folder, AdapterFileName(i));
            var index = i;
            AtomicFile.Write(file, path => WriteAdapter(path, $"adapter-{index}", (seed * 1009) + index, shape, fingerprint));
            adapterFiles.Add(file);
        }

        return new TinyModelFiles(model, adapterFiles);
    }

    /// <summary>
    /// The random-weight smoke model (<c>tiny-random</c>) in a cache folder, generated on first use (seed 42, two
    /// adapters), and again when this build's generator differs from the one that wrote it (an upgrade, or files put
    /// there by hand), which a stamp beside the files records. Safe when several processes race: files are written
    /// under a temporary name and moved into place.
    /// </summary>
    public static TinyModelFiles EnsureRandomCached(string? folder = null) => EnsureCached(folder ?? DefaultCacheFolder, f => Write(f));

    /// <summary>
    /// The trained tiny model (<c>tiny</c>) and its two adapters in the cache folder's <c>trained</c> folder, written
    /// from this assembly on first use and again when this build ships other weights, as <see cref="EnsureRandomCached"/>.
    /// </summary>
    public static TinyModelFiles EnsureTrainedCached(string? folder = null) => EnsureCached(Path.Combine(folder ?? DefaultCacheFolder, "trained"), WriteTrained);

    /// <summary>
    /// Writes the trained tiny model and its adapters (csv, toon) into <paramref name="folder"/>: the files
    /// <c>evalmesh models train-tiny</c> wrote with the recipe's defaults, shipped in this assembly.
    /// </summary>
    public static TinyModelFiles WriteTrained(string folder)
    {
        Directory.CreateDirectory(folder);
        var files = new TinyModelFiles(Path.Combine(folder, ModelFileName), [Path.Combine(folder, AdapterFileName(1)), Path.Combine(folder, AdapterFileName(2))]);
        foreach (var file in files.Adapters.Prepend(files.Model))
        {
            AtomicFile.Write(file, path =>
            {
                using var resource = typeof(TinyModel).Assembly.GetManifestResourceStream("trained/" + Path.GetFileName(file))!;
                using var output = File.Create(path);
                resource.CopyTo(output);
            });
        }

        return files;
    }

    private static TinyModelFiles EnsureCached(string folder, Func<string, TinyModelFiles> write)
    {
        var expected = new TinyModelFiles(Path.Combine(folder, ModelFileName), [Path.Combine(folder, AdapterFileName(1)), Path.Combine(folder, AdapterFileName(2))]);
        var stamp = Path.Combine(folder, GeneratorStampFileName);
        if (File.Exists(expected.Model) && expected.Adapters.All(File.Exists) && File.Exists(stamp) && File.ReadAllText(stamp) == GeneratorStamp)
        {
            return expected;
        }

        var written = write(folder);
        AtomicFile.Write(stamp, path => File.WriteAllText(path, GeneratorStamp));
        return written;
    }

    /// <summary>The file beside a cached tiny model that names the build that wrote it.</summary>
    public const string GeneratorStampFileName = "generator";

    // The generator and the shipped weights are this assembly: a deterministic build gives it a new module id only when
    // its code or resources change.
    private static string GeneratorStamp => typeof(TinyModel).Assembly.ManifestModule.ModuleVersionId.ToString();

    /// <summary>Where <see cref="EnsureRandomCached"/> and <see cref="EnsureTrainedCached"/> keep the models: <c>$EVALMESH_CACHE</c>, else the user's cache folder.</summary>
    public static string DefaultCacheFolder =>
        Environment.GetEnvironmentVariable("EVALMESH_CACHE") is { Length: > 0 } cache
            ? Path.Combine(cache, "tiny")
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify), "evalmesh", "tiny");

    // The vocabulary is learnt from the kind of text the tiny model is asked about, so that a 100-message context
    // fits its window in a few thousand tokens rather than tens of thousands of byte tokens.
    private static string Corpus(int firstSeed, int seeds)
    {
        var text = new StringBuilder(EvalConfig.DefaultPrompt).Append('\n');
        for (var seed = firstSeed; seed < firstSeed + seeds; seed++)
        {
            var data = SlackGenerator.Generate(new SlackGeneratorOptions(Messages: 100, Seed: seed, CasesPerCategory: 20));
            foreach (var format in RecordFormats.All)
            {
                text.Append(format.Render(data.Messages)).Append('\n');
            }

            foreach (var testCase in data.Suite.Cases)
            {
                text.Append(testCase.Question).Append('\n').AppendJoin('\n', testCase.Expected).Append('\n');
            }
        }

        return text.ToString();
    }

    private static string Fingerprint(int seed, TinyModelShape shape, SentencePieceVocabulary vocabulary)
    {
        var identity = $"{seed}|{shape.Identity}|{string.Join('\u0001', vocabulary.Pieces)}";
        return "tiny-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(identity)))[..16];
    }

    private static void WriteModel(string path, int seed, TinyModelShape shape, SentencePieceVocabulary vocabulary, string fingerprint, InitialScales scales, string? chatTemplate = null)
    {
        var random = new Random(seed);
        var n = (ulong)shape.Embedding;
        var ff = (ulong)shape.FeedForward;
        var vocab = (ulong)vocabulary.Pieces.Count;
        var writer = new GgufWriter()
            .Add("general.architecture", "llama")
            .Add("general.type", "model")
            .Add("general.name", "tiny-llama")
            .Add("general.file_type", 0u)
            .Add(FingerprintKey, fingerprint)
            .Add("llama.context_length", (uint)shape.ContextLength)
            .Add("llama.embedding_length", (uint)shape.Embedding)
            .Add("llama.block_count", (uint)shape.Blocks)
            .Add("llama.feed_forward_length", (uint)shape.FeedForward)
            .Add("llama.rope.dimension_count", (uint)(shape.Embedding / shape.Heads))
            .Add("llama.attention.head_count", (uint)shape.Heads)
            .Add("llama.attention.head_count_kv", (uint)shape.Heads)
            .Add("llama.attention.layer_norm_rms_epsilon", 1e-5f)
            .Add("llama.vocab_size", (uint)vocab)
            .Add("tokenizer.ggml.model", "llama")
            .Add("tokenizer.ggml.tokens", vocabulary.Pieces)
            .Add("tokenizer.ggml.scores", vocabulary.Scores)
            .Add("tokenizer.ggml.token_type", vocabulary.Types)
            .Add("tokenizer.ggml.unknown_token_id", 0u)
            .Add("tokenizer.ggml.bos_token_id", 1u)
            .Add("tokenizer.ggml.eos_token_id", 2u)
            .Add("tokenizer.ggml.add_bos_token", true)
            .Add("tokenizer.ggml.add_eos_token", false);
        if (chatTemplate is not null)
        {
            writer.Add("tokenizer.chat_template", chatTemplate);
        }

        var (embedding, input, projection, output) = scales(shape);
        writer.AddTensor("token_embd.weight", Normal(random, n * vocab, embedding), n, vocab);
        for (var b = 0; b < shape.Blocks; b++)
        {
            writer.AddTensor($"blk.{b}.attn_norm.weight", Ones(n), n);
            writer.AddTensor($"blk.{b}.attn_q.weight", Normal(random, n * n, input), n, n);
            writer.AddTensor($"blk.{b}.attn_k.weight", Normal(random, n * n, input), n, n);
            writer.AddTensor($"blk.{b}.attn_v.weight", Normal(random, n * n, input), n, n);
            writer.AddTensor($"blk.{b}.attn_output.weight", Normal(random, n * n, projection.Attention), n, n);
            writer.AddTensor($"blk.{b}.ffn_norm.weight", Ones(n), n);
            writer.AddTensor($"blk.{b}.ffn_gate.weight", Normal(random, n * ff, input), n, ff);
            writer.AddTensor($"blk.{b}.ffn_up.weight", Normal(random, n * ff, input), n, ff);
            writer.AddTensor($"blk.{b}.ffn_down.weight", Normal(random, ff * n, projection.FeedForward), ff, n);
        }

        writer.AddTensor("output_norm.weight", Ones(n), n);
        if (!shape.TiedOutput)
        {
            writer.AddTensor("output.weight", Normal(random, n * vocab, output), n, vocab);
        }
        writer.Write(path);
    }

    // Standard deviations of the initial weights: embedding, q/k/v/gate/up, the two projections back into the residual
    // stream (attention output, FFN down), and the output layer.
    private delegate (double Embedding, double Input, (double Attention, double FeedForward) Projection, double Output) InitialScales(TinyModelShape shape);

    // The smoke model's: logits spread widely, so greedy decoding has clear winners, not near-ties.
    private static readonly InitialScales SpreadScales = shape =>
        (1.0, 1.0 / Math.Sqrt(shape.Embedding), (1.0 / Math.Sqrt(shape.Embedding), 1.0 / Math.Sqrt(shape.FeedForward)), 0.5);

    // A start for training: small embeddings, projections back into the residual stream scaled down by the depth (as
    // GPT-2 does), and an output layer whose logits start near uniform.
    private static readonly InitialScales TrainingScales = shape =>
        (0.1, 1.0 / Math.Sqrt(shape.Embedding), (0.5 / Math.Sqrt(shape.Embedding * 2.0 * shape.Blocks), 0.5 / Math.Sqrt(shape.FeedForward * 2.0 * shape.Blocks)), 0.02);

    /// <summary>
    /// Writes a base model to start training from (no adapters): the same vocabulary and layout as <see cref="Write"/>,
    /// with weights scaled for training rather than for spread logits. Returns its path.
    /// </summary>
    public static string WriteInitial(string folder, int seed, TinyModelShape shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        Directory.CreateDirectory(folder);
        var vocabulary = SentencePieceVocabulary.Train(Corpus(shape.CorpusSeed, shape.CorpusSeeds), shape.VocabularySize, shape.DigitRun);
        var fingerprint = Fingerprint(seed, shape, vocabulary);
        var model = Path.Combine(folder, ModelFileName);
        AtomicFile.Write(model, path => WriteModel(path, seed, shape, vocabulary, fingerprint, TrainingScales));
        return model;
    }

    private static void WriteAdapter(string path, string name, int seed, TinyModelShape shape, string baseFingerprint)
    {
        var random = new Random(seed);
        var rank = 4 << random.Next(3);
        var alpha = (float)(rank * (1 + random.Next(2)));
        var writer = new GgufWriter()
            .Add("general.architecture", "llama")
            .Add("general.type", "adapter")
            .Add("general.name", name)
            .Add("adapter.type", "lora")
            .Add("adapter.lora.alpha", alpha)
            .Add(BaseFingerprintKey, baseFingerprint);
        var r = (ulong)rank;
        for (var b = 0; b < shape.Blocks; b++)
        {
            foreach (var target in Targets)
            {
                var (input, output) = target switch
                {
                    "ffn_gate" or "ffn_up" => (shape.Embedding, shape.FeedForward),
                    "ffn_down" => (shape.FeedForward, shape.Embedding),
                    _ => (shape.Embedding, shape.Embedding),
                };
                var weight = $"blk.{b}.{target}.weight";
                writer.AddTensor(weight + ".lora_a", Normal(random, (ulong)input * r, 1.0 / Math.Sqrt(input)), (ulong)input, r);
                writer.AddTensor(weight + ".lora_b", Normal(random, r * (ulong)output, 0.5 / Math.Sqrt(rank)), r, (ulong)output);
            }
        }

        writer.Write(path);
    }

    private static float[] Normal(Random random, ulong count, double std)
    {
        var values = new float[count];
        for (var i = 0UL; i < count; i++)
        {
            // Box-Muller from the seeded generator; both steps are deterministic, so files are byte-identical.
            var u1 = 1.0 - random.NextDouble();
            var u2 = random.NextDouble();
            values[i] = (float)(std * Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }

        return values;
    }

    private static float[] Ones(ulong count) => Enumerable.Repeat(1f, (int)count).ToArray();
}
