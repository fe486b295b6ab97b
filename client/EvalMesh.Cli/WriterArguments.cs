using System.CommandLine;
using EvalMesh.Contracts;
using EvalMesh.Evaluation;
using EvalMesh.Evaluation.Configuration;

namespace EvalMesh.Cli;

/// <summary>
/// The endpoint a generator has write (<c>--with</c>): an endpoint of a config (<c>--config FILE --with NAME</c>), an
/// OpenAI-compatible server (<c>--with URL --model NAME</c>, EvalMesh's own gateway among them) or a llama model
/// (<c>--with tiny</c> or <c>--with model.gguf</c>).
/// </summary>
/// <param name="what">What the endpoint writes, for the option's description.</param>
/// <param name="required">Whether <c>--with</c> must be given (without it, a generator may write by itself).</param>
internal sealed class WriterArguments(string what, bool required)
{
    public Option<string?> With { get; } = new("--with") { Description = $"The endpoint that writes {what}: a name from --config, an OpenAI-compatible base URL (with --model), or a llama model (tiny or a .gguf file).", Required = required };

    public Option<string?> Config { get; } = new("--config") { Description = "The evalmesh.yaml whose endpoints --with (and --check-with) name." };

    public Option<string?> Model { get; } = new("--model") { Description = "With --with URL: the model to ask for." };

    public Option<int> MaxTokens { get; } = new("--max-tokens") { Description = "The most tokens per answer (a case or a message; a config endpoint's own max-tokens is meant for evaluations).", DefaultValueFactory = _ => 512 };

    public void AddTo(Command command)
    {
        command.Options.Add(With);
        command.Options.Add(Config);
        command.Options.Add(Model);
        command.Options.Add(MaxTokens);
    }

    /// <summary>The endpoint <paramref name="value"/> (given as <paramref name="setting"/>) names, and the config's adapters (which llama endpoints may refer to).</summary>
    /// <exception cref="EvalMeshInputException">The config is malformed, names no such endpoint, or the value is neither a URL nor a model.</exception>
    public (EndpointConfig Endpoint, IReadOnlyList<AdapterConfig> Adapters) Resolve(ParseResult parse, string value, string setting)
    {
        var maxTokens = parse.GetValue(MaxTokens) >= 1 ? parse.GetValue(MaxTokens) : throw new EvalMeshInputException("must be at least 1", setting: MaxTokens.Name);
        if (parse.GetValue(Config) is { } path)
        {
            var config = ConfigLoader.Load(path);
            var endpoint = config.Endpoints.FirstOrDefault(e => e.Name == value) ?? (config.Judge?.Name == value ? config.Judge : null)
                ?? throw new EvalMeshInputException(new UnknownNameException("endpoint", value, [.. config.Endpoints.Select(e => e.Name)]).Message, path, setting: setting);
            return (endpoint with { MaxTokens = maxTokens }, config.Adapters);
        }

        if (Uri.TryCreate(value, UriKind.Absolute, out var url) && url.Scheme is "http" or "https")
        {
            var model = parse.GetValue(Model) ?? throw new EvalMeshInputException($"an OpenAI-compatible endpoint needs the model to ask for (--model), as {setting} {value} gives none", setting: Model.Name);
            return (new EndpointConfig(Safe(model), EndpointType.OpenAi, model, null, value, ApiKeyEnv: null, maxTokens, 0, 300, 16), []);
        }

        if (!BuiltInModels.IsModel(value) && !(value.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase) && File.Exists(value)))
        {
            throw new EvalMeshInputException($"'{EvalMeshInputException.Shown(value)}' is neither an endpoint of a config (give --config), an http(s) URL of an OpenAI-compatible server, a built-in model ({BuiltInModels.Tiny}, {BuiltInModels.TinyRandom}) nor a .gguf file", setting: setting);
        }

        var name = BuiltInModels.IsModel(value) ? value : Path.GetFullPath(value);
        return (new EndpointConfig(Safe(Path.GetFileNameWithoutExtension(value)), EndpointType.Llama, name, null, null, null, maxTokens, 0, 300, 16), []);
    }

    // An endpoint's name is part of cell ids and file names: letters, digits, '.', '_' and '-'.
    private static string Safe(string name) => string.Concat(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '-'));
}
