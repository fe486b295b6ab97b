using System.Text;
using EvalMesh.Abstractions;
using EvalMesh.Contracts;
using EvalMesh.Inference.Endpoints;
using LLama;
using LLama.Exceptions;

namespace EvalMesh.Inference.Llama;

/// <summary>A request's prompt as the model sees it.</summary>
/// <param name="Text">The rendered prompt.</param>
/// <param name="SharedPrefix">How many leading characters of it are the context the request shares with others (0 for none).</param>
/// <param name="Templated">Whether a chat template rendered it, so that its special markers are tokens.</param>
internal readonly record struct RenderedPrompt(string Text, int SharedPrefix, bool Templated);

/// <summary>Renders a request's messages into its model's prompt with llama.cpp's own chat templates (<c>llama_chat_apply_template</c>).</summary>
internal static class PromptRenderer
{
    /// <exception cref="InferenceException">The template is not one llama.cpp knows (<see cref="InferenceProblem.ChatTemplateUnsupported"/>).</exception>
    public static RenderedPrompt Render(LoadedModel model, InferenceRequest request)
    {
        var template = request.ChatTemplate switch
        {
            ChatTemplates.Auto => model.ChatTemplate,
            ChatTemplates.None => null,
            var name => name,
        };
        var text = template is null ? ChatPrompt.Render(request.Messages) : Apply(model, template, request);

        // The shared context is the start of the last message; a template puts its own text before it.
        var last = request.Messages[^1].Content;
        var start = text.LastIndexOf(last, StringComparison.Ordinal);
        var shared = request.SharedPrefix > 0 && start >= 0 ? start + Math.Min(request.SharedPrefix, last.Length) : 0;
        return new RenderedPrompt(text, shared, template is not null);
    }

    private static string Apply(LoadedModel model, string template, InferenceRequest request)
    {
        try
        {
            var chat = new LLamaTemplate(template) { AddAssistant = true };
            foreach (var message in request.Messages)
            {
                chat.Add(message.Role, message.Content);
            }

            return Encoding.UTF8.GetString(chat.Apply());
        }
        catch (MissingTemplateException ex)
        {
            var which = request.ChatTemplate == ChatTemplates.Auto ? $"the chat template in {Path.GetFileName(model.Info.Path)}" : $"the chat template '{template}'";
            throw new InferenceException(InferenceProblem.ChatTemplateUnsupported, $"{which} is not one llama.cpp knows; set the endpoint's chat-template to one of its names, or to none", ex);
        }
    }
}
