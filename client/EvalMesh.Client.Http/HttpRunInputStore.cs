using System.Text;
using System.Text.Json.Nodes;
using EvalMesh.Evaluation.Datasets;

namespace EvalMesh.Client;

/// <summary><see cref="IRunInputStore"/> over a silo's upload API: <c>HEAD</c>, <c>GET</c> and <c>PUT</c> of <c>/api/datasets/{id}</c> and <c>/api/suites/{id}</c>.</summary>
internal sealed class HttpRunInputStore(RestTransport rest) : IRunInputStore
{
    public Task<bool> HasDatasetAsync(string id, CancellationToken cancellationToken = default) => HasAsync($"api/datasets/{id}", cancellationToken);

    public Task PutDatasetAsync(Upload dataset, CancellationToken cancellationToken = default) => PutAsync("datasets", dataset, "application/x-ndjson", cancellationToken);

    public async Task<IReadOnlyList<JsonObject>?> GetDatasetAsync(string id, CancellationToken cancellationToken = default)
    {
        using var response = await rest.SendOrNotFoundAsync(HttpMethod.Get, $"api/datasets/{id}", cancellationToken).ConfigureAwait(false);
        return response is null ? null : DatasetReader.ParseJsonLines(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false), $"dataset {id}");
    }

    public Task<bool> HasSuiteAsync(string id, CancellationToken cancellationToken = default) => HasAsync($"api/suites/{id}", cancellationToken);

    public Task PutSuiteAsync(Upload suite, CancellationToken cancellationToken = default) => PutAsync("suites", suite, "application/json", cancellationToken);

    public async Task<string?> GetSuiteAsync(string id, CancellationToken cancellationToken = default)
    {
        using var response = await rest.SendOrNotFoundAsync(HttpMethod.Get, $"api/suites/{id}", cancellationToken).ConfigureAwait(false);
        return response is null ? null : await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<bool> HasAsync(string path, CancellationToken cancellationToken)
    {
        using var response = await rest.SendOrNotFoundAsync(HttpMethod.Head, path, cancellationToken).ConfigureAwait(false);
        return response is not null;
    }

    private async Task PutAsync(string kind, Upload upload, string mediaType, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(upload);
        using var content = new StringContent(upload.Content, Encoding.UTF8, mediaType);
        using var response = await rest.SendAsync(HttpMethod.Put, $"api/{kind}/{upload.Id}?name={Uri.EscapeDataString(upload.Name)}", content, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
    }
}
