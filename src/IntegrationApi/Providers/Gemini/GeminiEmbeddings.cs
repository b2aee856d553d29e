using IntegrationApi.Chat;
using IntegrationApi.Embeddings;
using IntegrationApi.Providers.GoogleGenAI;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Providers.Gemini;

/// <summary>
/// Gemini API embeddings: one text through <c>models/{model}:embedContent</c>, several through <c>:batchEmbedContents</c>
/// (at most 100 per call), with <c>x-goog-api-key</c>. The Gemini API reports no token usage for embeddings.
/// </summary>
internal sealed class GeminiEmbeddings(HttpClient client, IOptions<GeminiOptions> options) : IEmbeddingProvider
{
    public const string DefaultModel = "gemini-embedding-001";

    private readonly Uri _base = options.Value.ToBaseUri();

    public string Name => ProviderNames.Gemini;

    public int MaxBatchSize(EmbeddingOptions options) => 100;

    public async Task<EmbeddingBatch> EmbedAsync(EmbeddingRequest request, CancellationToken cancellationToken)
    {
        var model = request.Options.Model ?? DefaultModel;
        var segment = UrlSegment.Escape(model, $"modelParameters[\"{ModelParameters.Name}\"]");
        var key = request.Credential.Require("key");
        if (request.Inputs.Count == 1)
        {
            var one = new HttpRequestMessage(HttpMethod.Post, new Uri(_base, $"models/{segment}:embedContent"))
            {
                Content = ProviderHttp.JsonBody(GoogleEmbeddingsWire.ToEmbedContent(request.Inputs[0], request.Options), GoogleEmbeddingsJsonContext.Default.GeminiEmbedRequest),
            };
            one.Headers.Add("x-goog-api-key", key);
            var answer = await ProviderJson.SendAsync(client, one, Name, GoogleWire.DescribeError, GoogleEmbeddingsJsonContext.Default.GeminiEmbedResponse, cancellationToken).ConfigureAwait(false);
            return EmbeddingBatch.InOrder(Name, 1, [(0, answer.Embedding?.Values ?? GoogleEmbeddingsWire.Missing(Name))], null);
        }
        var batch = new HttpRequestMessage(HttpMethod.Post, new Uri(_base, $"models/{segment}:batchEmbedContents"))
        {
            Content = ProviderHttp.JsonBody(GoogleEmbeddingsWire.ToBatch(request, model), GoogleEmbeddingsJsonContext.Default.GeminiBatchEmbedRequest),
        };
        batch.Headers.Add("x-goog-api-key", key);
        var many = await ProviderJson.SendAsync(client, batch, Name, GoogleWire.DescribeError, GoogleEmbeddingsJsonContext.Default.GeminiBatchEmbedResponse, cancellationToken).ConfigureAwait(false);
        return EmbeddingBatch.InOrder(Name, request.Inputs.Count, (many.Embeddings ?? []).Select((e, i) => (i, e.Values ?? GoogleEmbeddingsWire.Missing(Name))), null);
    }
}
