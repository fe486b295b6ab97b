using EvalMesh.Abstractions;
using EvalMesh.Client;
using EvalMesh.Contracts;
using EvalMesh.Evaluation;
using EvalMesh.Inference.Endpoints;
using EvalMesh.Inference.Gguf;
using EvalMesh.Inference.Llama;
using Microsoft.Extensions.Options;

namespace EvalMesh.Grains.Runs;

/// <summary>
/// A silo's answer to <see cref="IModelContexts"/>: its model host's context window (the bound the host itself
/// enforces on a prompt and its max tokens) and each model's own vocabulary and chat template. A model the silo cannot
/// open (a missing, refused or invalid file) is left to the run, which reports it per cell as it always has.
/// </summary>
internal sealed class ModelContexts(ModelCatalog catalog, IOptions<ModelHostOptions> options) : IModelContexts
{
    public IModelContext? Open(EndpointConfig endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        if (endpoint.Type != EndpointType.Llama || endpoint.Model is null)
        {
            return null;
        }

        try
        {
            var info = GgufValidator.ValidateModel(catalog.ResolveModel(endpoint.Model));
            return new Context(ModelVocabulary.Load(info.Path), Path.GetFileNameWithoutExtension(info.Path), options.Value.ContextSize);
        }
        catch (Exception ex) when (ex is EvalMeshInputException or UnknownNameException or GgufException or InferenceException)
        {
            return null;
        }
    }

    private sealed class Context(ModelVocabulary vocabulary, string name, int contextTokens) : IModelContext
    {
        public string Name => name;

        public int ContextTokens => contextTokens;

        public int CountPrompt(string? system, string prompt, string chatTemplate, int sharedPrefix = 0) =>
            vocabulary.CountPromptTokens(system is null ? [new ChatTurn("user", prompt)] : [new ChatTurn("system", system), new ChatTurn("user", prompt)], chatTemplate, sharedPrefix);

        public void Dispose() => vocabulary.Dispose();
    }
}
